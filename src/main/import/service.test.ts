import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ServiceError } from '../../shared/result';
import { fullPath } from './service';

describe('import paths', () => {
  it('expands ~ to the home folder, keeps full paths, and refuses relative ones without naming any server folder', () => {
    expect(fullPath('~')).toBe(os.homedir());
    expect(fullPath('~/cases/cd-001')).toBe(path.join(os.homedir(), 'cases', 'cd-001'));
    expect(fullPath(' /data/x/../y ')).toBe('/data/y');
    for (const relative of ['cases/cd-001', './x', '~other/x']) {
      let error: unknown;
      try {
        fullPath(relative);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ServiceError);
      expect((error as ServiceError).code).toBe('invalid-input');
      expect((error as Error).message).toContain(`"${relative}" is not a full path`);
      expect((error as Error).message).not.toContain(process.cwd());
    }
  });
});

// The model share's start-up sweep of staging folders left by a killed publish or adoption
// (issue 26 follow-up): a real data folder and share folder, real processes for the process ids.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { createBackend } from '../backend';
import { SHARE_SUBFOLDER } from './share';

describe('model share staging sweep', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it("removes a dead process's staging folders at start, and leaves running or recent ones", async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const share = path.join(tmp.dir, 'share');
    const first = createBackend({ dataDir, transport: 'http', inference: false });
    await first.ready;
    await first.services.settings.update({ modelShareFolder: share });
    first.close();
    // A process id that has exited (and been reaped): what a killed publish or adoption leaves.
    const dead = spawnSync('true').pid!;
    const host = os.hostname();
    const models = path.join(dataDir, 'models');
    const shared = path.join(share, SHARE_SUBFOLDER);
    const folder = (dir: string, name: string, ageHours = 0) => {
      const full = path.join(dir, name);
      mkdirSync(full, { recursive: true });
      writeFileSync(path.join(full, 'model.onnx'), 'half a copy');
      const t = (Date.now() - ageHours * 3600_000) / 1000;
      utimesSync(full, t, t);
      return full;
    };
    const deadAdopt = folder(models, `.adopt-${dead}-0123456789ab`);
    const liveAdopt = folder(models, `.adopt-${process.pid}-0123456789ab`);
    const deadPublish = folder(shared, `.m--0123456789abcdef.staging-${host}-${dead}-0badcafe`);
    const livePublish = folder(shared, `.m--0123456789abcdef.staging-${host}-${process.pid}-0badcafe`);
    const otherRecent = folder(shared, `.m--0123456789abcdef.staging-other-host-${dead}-0badcafe`, 2);
    const otherStale = folder(shared, `.m--0123456789abcdef.staging-other-host-${dead}-1badcafe`, 30);
    const published = folder(shared, 'm--0123456789abcdef');

    const second = createBackend({ dataDir, transport: 'http', inference: false });
    await second.ready;
    second.close();
    expect([deadAdopt, deadPublish, otherStale].filter(existsSync)).toEqual([]);
    expect([liveAdopt, livePublish, otherRecent, published].filter((f) => !existsSync(f))).toEqual([]);
  });
});

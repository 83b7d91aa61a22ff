import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0050 store-packs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-40 database: existing files stay whole files, new ones may name a pack offset', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      40,
      50,
      `INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h1', 'ab/h1', 10, 'dicom')`,
    );
    expect(schemaVersion(db)).toBe(50);
    expect(db.prepare('SELECT pack_offset FROM files WHERE id = 1').pluck().get()).toBeNull();
    const add = db.prepare(
      "INSERT INTO files (sha256, store_path, size, format, pack_offset) VALUES (?, 'packs/p1.pack', 5, 'dicom', ?)",
    );
    add.run('h2', 0);
    add.run('h3', 5);
    expect(() => add.run('h4', -1)).toThrow(/CHECK/);
    expect(() => add.run('h2', 10)).toThrow(/UNIQUE/);
    const plan = db.prepare("EXPLAIN QUERY PLAN SELECT 1 FROM files WHERE store_path = 'packs/p1.pack'").all() as {
      detail: string;
    }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/files_store_path/);
    db.close();
  });
});

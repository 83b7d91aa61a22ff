import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { openDatabase, type Database } from '../db/database';
import { freeName, moveIntoPlace, sweepExportLeftovers } from './staging';

describe('export staging', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('finds a free name, keeping .nii.gz whole', () => {
    writeFileSync(path.join(tmp.dir, 'a_labels.nii.gz'), 'x');
    writeFileSync(path.join(tmp.dir, 'a_labels-2.nii.gz'), 'x');
    expect(freeName(tmp.dir, 'a_labels.nii.gz')).toBe('a_labels-3.nii.gz');
    expect(freeName(tmp.dir, 'b_SEG.dcm')).toBe('b_SEG.dcm');
  });

  it('moves files and folders in without replacing what is there', () => {
    const out = path.join(tmp.dir, 'out');
    mkdirSync(path.join(out, 'p_SC'), { recursive: true });
    writeFileSync(path.join(out, 'p_SEG.dcm'), 'earlier');
    const stage = path.join(tmp.dir, 'stage');
    mkdirSync(path.join(stage, 'p_SC'), { recursive: true });
    writeFileSync(path.join(stage, 'p_SEG.dcm'), 'later');
    writeFileSync(path.join(stage, 'p_SC', 'IM0001.dcm'), 'sc');
    const names = moveIntoPlace(stage, out);
    expect(Object.fromEntries(names)).toEqual({ 'p_SEG.dcm': 'p_SEG-2.dcm', p_SC: 'p_SC-2' });
    expect(readFileSync(path.join(out, 'p_SEG.dcm'), 'utf8')).toBe('earlier');
    expect(readFileSync(path.join(out, 'p_SEG-2.dcm'), 'utf8')).toBe('later');
    expect(readdirSync(path.join(out, 'p_SC-2'))).toEqual(['IM0001.dcm']);
    expect(existsSync(stage)).toBe(false);
  });

  describe('after a crash', () => {
    let db: Database;
    beforeEach(() => {
      db = openDatabase(path.join(tmp.dir, 'lgms.sqlite'));
    });
    afterEach(() => db.close());

    it("removes dead processes' stages and an earlier version's stage inside the folder of an export that was running", () => {
      const out = path.join(tmp.dir, 'out');
      mkdirSync(path.join(out, '.lgms-export-7-0a1b2c3d'), { recursive: true });
      mkdirSync(path.join(out, '.lgms-export-8-0a1b2c3d'), { recursive: true }); // another job's (not running): kept
      writeFileSync(path.join(out, 'kept.dcm'), 'x');
      db.prepare("INSERT INTO jobs (id, kind, status, title, params) VALUES (7, 'export', 'running', 't', ?)").run(
        JSON.stringify({ outDir: out }),
      );
      const stages = path.join(tmp.dir, 'export-staging');
      mkdirSync(path.join(stages, `${Date.now().toString(36)}-4194304-7`), { recursive: true }); // no such process
      mkdirSync(path.join(stages, `${Date.now().toString(36)}-${process.pid}-9`), { recursive: true }); // this live process
      const removed = sweepExportLeftovers(tmp.dir, db);
      expect(removed).toHaveLength(2);
      expect(readdirSync(out).sort()).toEqual(['.lgms-export-8-0a1b2c3d', 'kept.dcm']);
      expect(readdirSync(stages)).toHaveLength(1);
      expect(readdirSync(stages)[0]).toMatch(new RegExp(`-${process.pid}-9$`));
    });
  });
});

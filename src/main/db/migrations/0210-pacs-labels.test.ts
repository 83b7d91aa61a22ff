import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { ONE_DICOM_IMAGE, upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0210 pacs-labels', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('adds the push setting to a version-200 database, keeping its tasks; one unsent push per series and task', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      200,
      210,
      `${ONE_DICOM_IMAGE}
      INSERT INTO tasks (id, name, domain) VALUES (2, 'Liver', '{}');`,
    );
    expect(schemaVersion(db)).toBe(210);
    expect(db.prepare('SELECT id, name, pacs_push_endpoint FROM tasks ORDER BY id').all()).toEqual([
      { id: 1, name: 'Breast lesion (demo)', pacs_push_endpoint: null },
      { id: 2, name: 'Liver', pacs_push_endpoint: null },
    ]);
    db.prepare('UPDATE tasks SET pacs_push_endpoint = 3 WHERE id = 2').run();
    expect(() => db.prepare('UPDATE tasks SET pacs_push_endpoint = 0 WHERE id = 2').run()).toThrow(/CHECK/);
    const push = db.prepare(
      'INSERT INTO pacs_pushes (task_id, series_id, endpoint_id, sop_instance_uid, series_instance_uid) VALUES (2, 1, 3, ?, ?)',
    );
    push.run('1.2.3', '1.2.4');
    // A second unsent row for the same series and task is refused; a sent one leaves room.
    expect(() => push.run('1.2.5', '1.2.6')).toThrow(/UNIQUE/);
    expect(() => db.prepare("UPDATE pacs_pushes SET state = 'failed'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE pacs_pushes SET state = 'sent'").run()).toThrow(/CHECK/);
    db.prepare("UPDATE pacs_pushes SET state = 'sent', sent_at = '2026-12-06T00:00:00Z'").run();
    push.run('1.2.5', '1.2.6');
    expect(db.prepare('SELECT state FROM pacs_pushes ORDER BY id').pluck().all()).toEqual(['sent', 'pending']);
    // Removing a task removes its pushes and pulls.
    db.prepare("INSERT INTO pacs_pulls (task_id, sop_instance_uid, series_id) VALUES (2, '9.9', 1)").run();
    db.prepare(
      "INSERT INTO pacs_pulls (task_id, sop_instance_uid, outcome, codes) VALUES (2, '9.8', 'other-task', 'SCT:1')",
    ).run();
    expect(() =>
      db.prepare("INSERT INTO pacs_pulls (task_id, sop_instance_uid, outcome) VALUES (2, '9.7', 'maybe')").run(),
    ).toThrow(/CHECK/);
    db.prepare('DELETE FROM tasks WHERE id = 2').run();
    expect(db.prepare('SELECT (SELECT count(*) FROM pacs_pushes) + (SELECT count(*) FROM pacs_pulls)').pluck().get()).toBe(0);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});

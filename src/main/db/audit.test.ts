// The one audit writer on a real SQLite file: a row per call, its time now unless given, its detail as JSON.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { appendAudit } from './audit';
import { openDatabase, type Database } from './database';

describe('appendAudit', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'lgms.sqlite'));
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('appends a row with the time given, or now, and the detail as JSON', () => {
    appendAudit(db, {
      at: '2026-12-06T10:00:00.000Z',
      actor: 'dr a',
      action: 'review.accept',
      subject: 'series:1.2.3',
      detail: { count: 2 },
      seriesId: null,
      modelVersionId: null,
    });
    const before = new Date().toISOString();
    appendAudit(db, {
      actor: 'dr b',
      action: 'export.png',
      subject: null,
      detail: { files: ['a.png'] },
      seriesId: null,
      modelVersionId: null,
    });
    const rows = db
      .prepare('SELECT at, actor, action, subject, detail, series_id, model_version_id FROM audit_log ORDER BY id')
      .all() as Record<string, unknown>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      at: '2026-12-06T10:00:00.000Z',
      actor: 'dr a',
      action: 'review.accept',
      subject: 'series:1.2.3',
      detail: '{"count":2}',
      series_id: null,
      model_version_id: null,
    });
    expect(rows[1]).toMatchObject({ actor: 'dr b', subject: null, detail: '{"files":["a.png"]}' });
    expect(String(rows[1]!.at) >= before.slice(0, 19)).toBe(true);
  });
});

import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { ONE_DICOM_IMAGE } from '../../../tests/helpers/migrations';
import { openDatabase, type Database } from '../db/database';
import { backoffMs, enqueuePush, FIRST_BACKOFF_MS, MAX_BACKOFF_MS } from './push';

describe('label push queue', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'a.sqlite'));
    db.exec(ONE_DICOM_IMAGE);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('waits 30 s after the first failure, doubling up to an hour', () => {
    expect([1, 2, 3, 4].map(backoffMs)).toEqual([FIRST_BACKOFF_MS, 60_000, 120_000, 240_000]);
    expect(backoffMs(50)).toBe(MAX_BACKOFF_MS);
  });

  it('queues nothing for a task that pushes nowhere; one waiting row per series, refreshed by a new decision', () => {
    expect(enqueuePush(db, 1, 1)).toBeNull();
    db.prepare('UPDATE tasks SET pacs_push_endpoint = 4 WHERE id = 1').run();
    const first = enqueuePush(db, 1, 1);
    const row = () =>
      db.prepare('SELECT id, endpoint_id AS endpoint, state, sop_instance_uid AS sop FROM pacs_pushes').all() as {
        id: number;
        endpoint: number;
        state: string;
        sop: string;
      }[];
    const before = row();
    expect(before).toEqual([{ id: first, endpoint: 4, state: 'pending', sop: expect.stringMatching(/^2\.25\.\d+$/) }]);
    // Re-submitted before it went out: the same row, with new UIDs for the new content.
    expect(enqueuePush(db, 1, 1)).toBe(first);
    expect(row()).toHaveLength(1);
    expect(row()[0]!.sop).not.toBe(before[0]!.sop);
    // Once sent, a new decision is a new push.
    db.prepare("UPDATE pacs_pushes SET state = 'sent', sent_at = 'now'").run();
    expect(enqueuePush(db, 1, 1)).not.toBe(first);
    expect(row().map((r) => r.state)).toEqual(['sent', 'pending']);
  });
});

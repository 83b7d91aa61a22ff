// Review queries: the queues' order, items, states and the figures per model version, as named
// functions so tests can run EXPLAIN QUERY PLAN on the real statements.
import type { AuditEntry, ReviewItem, ReviewOrder, ReviewQueue, VersionReviewMetrics } from '../../shared/contract';
import { SERIES_UNLIKE_SHARE } from '../../shared/model/input-statistics';
import type { ReviewState } from '../../shared/review/state';
import type { Database } from '../db/database';

const ITEM_COLUMNS = `r.series_id AS seriesId, r.task_id AS taskId, se.study_id AS studyId, r.state, r.model_version_id AS modelVersionId,
  r.uncertainty, se.modality, se.description, p.name AS patientName, p.patient_id AS patientId, st.study_date AS studyDate,
  se.image_count AS imageCount, r.entered_at AS enteredAt, r.skipped_at AS skippedAt, r.reject_reason AS rejectReason,
  r.assignee, r.note, r.domain_reason AS domainReason, r.unlike_share AS unlikeShare`;
const ITEM_FROM = `review_items r JOIN series se ON se.id = r.series_id JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id`;

/**
 * Skipped items go last (oldest skip first); then the chosen order; the series id breaks ties.
 * Most uncertain first puts series unlike the model's training images before all others: the
 * model's own uncertainty can be low on them (issue 21: 0.004 on CT_small).
 */
const ORDER_BY: Record<ReviewOrder, string> = {
  uncertainty: `r.skipped_at IS NOT NULL, r.skipped_at, coalesce(r.unlike_share, 0) >= ${SERIES_UNLIKE_SHARE} DESC, r.uncertainty DESC, r.series_id`,
  fifo: 'r.skipped_at IS NOT NULL, r.skipped_at, r.entered_at, r.series_id',
  random: 'r.skipped_at IS NOT NULL, r.skipped_at, r.random_key, r.series_id',
};

/**
 * One task's queue in order (default: the starter task). The review queue holds `to-review`
 * items whose prediction exists; the correction queue holds `in-correction` items, oldest
 * first. `include` keeps one series in the list whatever its state, so the neighbours of a
 * series just decided can still be found.
 */
export function queueItems(
  db: Database,
  queue: ReviewQueue,
  order: ReviewOrder,
  limit: number,
  include: number | null = null,
  taskId = 1,
): ReviewItem[] {
  return db.prepare(queueSql(queue, order)).all({ include: include ?? -1, limit, task: taskId }) as ReviewItem[];
}

/** The statement behind {@link queueItems} (parameters @include, @limit, @task). */
export function queueSql(queue: ReviewQueue, order: ReviewOrder): string {
  const where = queue === 'review' ? "(q.state = 'to-review' AND q.model_version_id IS NOT NULL)" : "q.state = 'in-correction'";
  const orderBy = queue === 'review' ? ORDER_BY[order] : ORDER_BY.fifo;
  // Two index searches (the task's state; the one included series), not a scan of the task's items.
  return `SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM}
    WHERE r.rowid IN (SELECT q.rowid FROM review_items q WHERE q.task_id = @task AND ${where}
                      UNION SELECT q.rowid FROM review_items q WHERE q.series_id = @include AND q.task_id = @task)
    ORDER BY ${orderBy} LIMIT @limit`;
}

export function itemOf(db: Database, seriesId: number, taskId = 1): ReviewItem | undefined {
  return db.prepare(`SELECT ${ITEM_COLUMNS} FROM ${ITEM_FROM} WHERE r.series_id = ? AND r.task_id = ?`).get(seriesId, taskId) as
    ReviewItem | undefined;
}

/** Review states of series in one task's loop (default: the starter task). */
export function statesOf(db: Database, seriesIds: number[], taskId = 1): Record<number, ReviewState> {
  const out: Record<number, ReviewState> = {};
  if (seriesIds.length === 0) return out;
  const rows = db
    .prepare(
      `SELECT series_id AS id, state FROM review_items WHERE task_id = ? AND series_id IN (${seriesIds.map(() => '?').join(',')})`,
    )
    .all(taskId, ...seriesIds) as { id: number; state: ReviewState }[];
  for (const r of rows) out[r.id] = r.state;
  return out;
}

/**
 * Puts series into a task's loop: every series whose images all have a prediction of the task's
 * active version enters its review queue (in-domain, or outside it once the user asked for it);
 * an item waiting for a requested segmentation, or reviewed on an older version, takes the new one.
 */
export function enqueuePredicted(db: Database, activeVersionId: number, taskId = 1): number {
  const complete = `SELECT se.id AS series_id,
      (SELECT avg(pr.entropy) FROM predictions pr JOIN images i ON i.id = pr.image_id WHERE i.series_id = se.id AND pr.model_version_id = @v) AS score,
      (SELECT avg(pr.input_distance > 0) FROM predictions pr JOIN images i ON i.id = pr.image_id WHERE i.series_id = se.id AND pr.model_version_id = @v)
        AS unlike
    FROM series se
    WHERE se.image_count > 0 AND se.status = 'segmented'
      AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.series_id = se.id AND r.task_id = @task AND (r.state != 'to-review' OR r.model_version_id = @v))
      AND (SELECT count(*) FROM predictions pr JOIN images i ON i.id = pr.image_id WHERE i.series_id = se.id AND pr.model_version_id = @v)
        = (SELECT count(*) FROM images i WHERE i.series_id = se.id)`;
  const inserted = db
    .prepare(
      `INSERT INTO review_items (series_id, task_id, state, model_version_id, uncertainty, unlike_share, random_key)
       SELECT c.series_id, @task, 'to-review', @v, c.score, c.unlike, abs(random() % 2147483647) FROM (${complete}) c
       WHERE NOT EXISTS (SELECT 1 FROM review_items r WHERE r.series_id = c.series_id AND r.task_id = @task)`,
    )
    .run({ v: activeVersionId, task: taskId }).changes;
  const updated = db
    .prepare(
      `UPDATE review_items SET model_version_id = @v, uncertainty = c.score, unlike_share = c.unlike, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
       FROM (${complete}) c
       WHERE review_items.series_id = c.series_id AND review_items.task_id = @task AND review_items.state = 'to-review'
         AND (review_items.model_version_id IS NULL OR review_items.model_version_id != @v)`,
    )
    .run({ v: activeVersionId, task: taskId }).changes;
  return inserted + updated;
}

/** Series not in a task's loop: candidates for its `outside-domain`. */
export function seriesWithoutItem(db: Database, taskId = 1): { id: number; modality: string; photometric: string }[] {
  return db
    .prepare(
      `SELECT se.id, se.modality, coalesce((SELECT photometric FROM images WHERE series_id = se.id LIMIT 1), '') AS photometric
       FROM series se WHERE se.status IN ('new', 'segmented')
         AND NOT EXISTS (SELECT 1 FROM review_items r WHERE r.series_id = se.id AND r.task_id = ?)`,
    )
    .all(taskId) as { id: number; modality: string; photometric: string }[];
}

export function auditEntries(
  db: Database,
  q: {
    action?: string | undefined;
    seriesId?: number | undefined;
    taskId?: number | undefined;
    actor?: string | undefined;
    beforeId?: number | undefined;
    limit: number;
  },
): AuditEntry[] {
  const where: string[] = [];
  if (q.action) where.push('(a.action = @action OR a.action LIKE @actionPrefix)');
  if (q.seriesId !== undefined) where.push('a.series_id = @seriesId');
  if (q.taskId !== undefined) where.push('a.task_id = @taskId');
  if (q.actor !== undefined) where.push('a.actor = @actor');
  if (q.beforeId !== undefined) where.push('a.id < @beforeId');
  const rows = db
    .prepare(
      `SELECT a.id, a.at, a.actor, a.action, a.subject, a.series_id AS seriesId, a.model_version_id AS modelVersionId, a.task_id AS taskId, a.detail,
              p.name AS patientName, p.patient_id AS patientId, se.modality, se.series_number AS seriesNumber,
              se.description AS seriesDescription, m.name AS modelName, m.version AS modelVersion
       FROM audit_log a LEFT JOIN series se ON se.id = a.series_id LEFT JOIN studies st ON st.id = se.study_id
         LEFT JOIN patients p ON p.id = st.patient_id LEFT JOIN model_versions m ON m.id = a.model_version_id
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY a.id DESC LIMIT @limit`,
    )
    .all({
      action: q.action ?? '',
      actionPrefix: `${q.action ?? ''}.%`,
      seriesId: q.seriesId ?? null,
      taskId: q.taskId ?? null,
      actor: q.actor ?? '',
      beforeId: q.beforeId ?? 0,
      limit: q.limit,
    }) as (Omit<AuditEntry, 'detail'> & { detail: string | null })[];
  return rows.map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }));
}

/**
 * Per model version: decisions and rejections from the audit log; acceptance share and mean
 * edit Dice over the current labels started from its predictions; median review time over
 * decisions (one accept or submit = the labels written at one instant for one series).
 */
export function versionMetrics(db: Database, taskId?: number): VersionReviewMetrics[] {
  const labels = db
    .prepare(
      `SELECT model_version_id AS v, count(*) AS n, sum(origin = 'accepted') AS accepted,
              avg(CASE WHEN origin = 'edited' THEN edit_dice END) AS meanEditDice
       FROM labels WHERE superseded_at IS NULL AND model_version_id IS NOT NULL GROUP BY model_version_id`,
    )
    .all() as { v: number; n: number; accepted: number; meanEditDice: number | null }[];
  const decisions = db
    .prepare(
      `SELECT model_version_id AS v, sum(action IN ('review.accept', 'review.submit', 'review.reject')) AS decisions,
              sum(action = 'review.reject') AS rejected
       FROM audit_log WHERE model_version_id IS NOT NULL AND action LIKE 'review.%' GROUP BY model_version_id`,
    )
    .all() as { v: number; decisions: number; rejected: number }[];
  const times = db
    .prepare(
      `SELECT model_version_id AS v, sum(seconds) AS s FROM labels WHERE model_version_id IS NOT NULL
       GROUP BY model_version_id, series_id, created_at`,
    )
    .all() as { v: number; s: number }[];
  const ids = new Set([...labels.map((r) => r.v), ...decisions.map((r) => r.v)]);
  const ofTask =
    taskId === undefined
      ? null
      : new Set(db.prepare('SELECT id FROM model_versions WHERE task_id = ?').pluck().all(taskId) as number[]);
  return [...ids]
    .filter((v) => ofTask === null || ofTask.has(v))
    .sort((a, b) => a - b)
    .map((v) => {
      const l = labels.find((r) => r.v === v);
      const d = decisions.find((r) => r.v === v);
      return {
        modelVersionId: v,
        decisions: d?.decisions ?? 0,
        rejected: d?.rejected ?? 0,
        labels: l?.n ?? 0,
        acceptedShare: l && l.n > 0 ? l.accepted / l.n : null,
        meanEditDice: l?.meanEditDice ?? null,
        medianReviewSeconds: median(times.filter((t) => t.v === v).map((t) => t.s)),
      };
    });
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Whether the series exists (a not-found error names it otherwise). */
export function seriesExists(db: Database, seriesId: number): boolean {
  return db.prepare('SELECT 1 FROM series WHERE id = ?').get(seriesId) !== undefined;
}

/** The series' Series Instance UID; undefined when there is no such series. */
export function seriesUid(db: Database, seriesId: number): string | undefined {
  return db.prepare('SELECT series_uid FROM series WHERE id = ?').pluck().get(seriesId) as string | undefined;
}

/** An inserter of `outside-domain` items (the statement prepared once, run per series). */
export function outsideDomainInserter(db: Database): (seriesId: number, taskId: number, reason: string) => void {
  const insert = db.prepare(
    "INSERT INTO review_items (series_id, task_id, state, random_key, domain_reason) VALUES (?, ?, 'outside-domain', abs(random() % 2147483647), ?)",
  );
  return (seriesId, taskId, reason) => insert.run(seriesId, taskId, reason);
}

/** A cold-start item (issue 22): the series enters the task's correction queue. */
export function insertCorrectionItem(db: Database, seriesId: number, taskId: number): void {
  db.prepare(
    "INSERT INTO review_items (series_id, task_id, state, random_key) VALUES (?, ?, 'in-correction', abs(random() % 2147483647))",
  ).run(seriesId, taskId);
}

/** Whether the task has a saved draft of the series. */
export function hasDraft(db: Database, seriesId: number, taskId: number): boolean {
  return db.prepare('SELECT 1 FROM drafts WHERE series_id = ? AND task_id = ?').get(seriesId, taskId) !== undefined;
}

/** Starts the item's review clock at `at` unless it already runs. */
export function markOpened(db: Database, seriesId: number, taskId: number, at: string): void {
  db.prepare('UPDATE review_items SET opened_at = ? WHERE series_id = ? AND task_id = ? AND opened_at IS NULL').run(
    at,
    seriesId,
    taskId,
  );
}

/** When the item's review clock started (ISO 8601); null when it does not run. */
export function openedAt(db: Database, seriesId: number, taskId: number): string | null {
  return (
    (db.prepare('SELECT opened_at FROM review_items WHERE series_id = ? AND task_id = ?').pluck().get(seriesId, taskId) as
      string | null | undefined) ?? null
  );
}

/** One decision's effect on its item: the new state and the queue fields that follow from the action. */
export interface ItemDecision {
  seriesId: number;
  taskId: number;
  to: ReviewState;
  action: string;
  at: string;
  reason: string;
  assignee: string | null;
  note: string | null;
}

/**
 * Writes a decision to its item: the state; when it entered it; a skip's time (cleared on a
 * state change); the review clock (kept by an assignment only); the reject reason, assignee and
 * note (cleared when the item leaves the states they belong to); a segment-on-request clears the
 * item's version until the new prediction is done.
 */
export function updateItem(db: Database, d: ItemDecision): void {
  db.prepare(
    `UPDATE review_items SET state = @to, updated_at = @at,
       entered_at = CASE WHEN @to != state THEN @at ELSE entered_at END,
       skipped_at = CASE WHEN @skip THEN @at WHEN @to != state THEN NULL ELSE skipped_at END,
       opened_at = CASE WHEN @keepClock THEN opened_at ELSE NULL END,
       reject_reason = CASE WHEN @action = 'reject' THEN @reason WHEN @to = 'to-review' THEN '' ELSE reject_reason END,
       assignee = CASE WHEN @assignee IS NOT NULL THEN @assignee WHEN @to != 'in-correction' THEN '' ELSE assignee END,
       note = CASE WHEN @note IS NOT NULL THEN @note WHEN @to != 'in-correction' THEN '' ELSE note END,
       model_version_id = CASE WHEN @action = 'segment-on-request' THEN NULL ELSE model_version_id END
     WHERE series_id = @seriesId AND task_id = @taskId`,
  ).run({ ...d, skip: d.action === 'skip' ? 1 : 0, keepClock: d.action === 'assign' ? 1 : 0 });
}

/** The distinct series of some images (none for ids that do not exist). */
export function seriesOfImages(db: Database, imageIds: number[]): number[] {
  return db
    .prepare(`SELECT DISTINCT series_id FROM images WHERE id IN (${imageIds.map(() => '?').join(',')})`)
    .pluck()
    .all(...imageIds) as number[];
}

/**
 * Leaves images out of training (with the reader's reason, at `at`) or takes them back; returns
 * how many changed (an image already in that state, or that does not exist, does not count).
 */
export function setTrainingExclusion(db: Database, imageIds: number[], excluded: boolean, reason: string, at: string): number {
  const write = excluded
    ? db.prepare(
        'INSERT INTO training_exclusions (image_id, reason, excluded_at) SELECT id, ?, ? FROM images WHERE id = ? ON CONFLICT DO NOTHING',
      )
    : db.prepare('DELETE FROM training_exclusions WHERE image_id = ?');
  let changed = 0;
  for (const id of imageIds) changed += (excluded ? write.run(reason, at, id) : write.run(id)).changes;
  return changed;
}

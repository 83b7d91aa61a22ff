// The `review` service: decisions on series through the state machine of src/shared/review,
// each applied in one transaction with its labels and its audit row, so a crash after a reply
// loses nothing that was decided and a crash before it leaves no half-written decision.
import type {
  AuditEntry,
  Events,
  ReviewDecision,
  ReviewItem,
  ReviewOrder,
  ReviewQueue,
  ReviewService,
  SeriesLabels,
  Settings,
  VersionReviewMetrics,
} from '../../shared/contract';
import { reviewMethods } from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { applicability } from '../../shared/model/applicability';
import { auditAction, transition, type ReviewAction, type ReviewState } from '../../shared/review/state';
import { exhaustive, ServiceError } from '../../shared/result';
import type { z } from 'zod';
import type { Database } from '../db/database';
import type { ModelRegistry } from '../models/registry';
import { userIdentity } from '../settings/identity';
import { labelsForAccept, labelsFromDraft, seriesLabels, supersede, type WrittenLabels } from './labels';
import { auditEntries, enqueuePredicted, itemOf, queueItems, seriesWithoutItem, statesOf, versionMetrics } from './queries';
import { appendAudit } from '../db/audit';

/** Longer than this between opening a series and deciding is not counted as review time. */
const MAX_REVIEW_SECONDS = 30 * 60;
const WHOLE_QUEUE = 1_000_000;

export interface ReviewDeps {
  db: Database;
  events: Emitter<Events>;
  registry: Pick<ModelRegistry, 'active'>;
  settings: () => Settings;
  /** Queues a segmentation job (the inference engine's). */
  segment: (seriesId: number) => Promise<{ jobId: number }>;
}

interface Extra {
  reason?: string;
  note?: string;
  assignee?: string;
}

export class ReviewMainService implements ReviewService {
  constructor(private readonly d: ReviewDeps) {}

  /**
   * Brings review_items up to date with the database: series the active model is not meant for
   * become `outside-domain`; series whose prediction is complete enter the review queue.
   * Cheap when nothing changed, so every read calls it instead of listening for job events.
   */
  sync(): void {
    const active = this.d.registry.active();
    if (!active) return;
    const db = this.d.db;
    db.transaction(() => {
      const outside = db.prepare(
        "INSERT INTO review_items (series_id, state, random_key, domain_reason) VALUES (?, 'outside-domain', abs(random() % 2147483647), ?)",
      );
      for (const s of seriesWithoutItem(db)) {
        const a = applicability(active.manifest.domain, s);
        if (!a.inDomain) outside.run(s.id, a.reason);
      }
      enqueuePredicted(db, active.id);
    }).immediate();
  }

  async queue(input: z.input<typeof reviewMethods.queue>): Promise<ReviewItem[]> {
    const q = reviewMethods.queue.parse(input);
    this.sync();
    return queueItems(this.d.db, q.queue, q.order ?? this.order(), q.limit);
  }

  async item(input: z.input<typeof reviewMethods.item>): Promise<ReviewItem> {
    const { seriesId, open } = reviewMethods.item.parse(input);
    this.sync();
    const item = this.existing(seriesId);
    // The clock starts at the first opening and runs until a decision, across reloads.
    if (open && (item.state === 'to-review' || item.state === 'in-correction')) {
      this.d.db
        .prepare('UPDATE review_items SET opened_at = ? WHERE series_id = ? AND opened_at IS NULL')
        .run(new Date().toISOString(), seriesId);
    }
    return item;
  }

  async neighbor(input: z.input<typeof reviewMethods.neighbor>): Promise<ReviewItem | null> {
    const { seriesId, direction, queue } = reviewMethods.neighbor.parse(input);
    this.sync();
    const list = queueItems(this.d.db, queue, this.order(), WHOLE_QUEUE, seriesId);
    const at = list.findIndex((i) => i.seriesId === seriesId);
    if (at < 0) throw new ServiceError('not-found', `no series ${seriesId} in the review loop`);
    return list[direction === 'next' ? at + 1 : at - 1] ?? null;
  }

  async states(input: z.input<typeof reviewMethods.states>): Promise<Record<number, ReviewState>> {
    this.sync();
    return statesOf(this.d.db, reviewMethods.states.parse(input).seriesIds);
  }

  async accept(input: z.input<typeof reviewMethods.accept>): Promise<ReviewDecision> {
    return this.decide(reviewMethods.accept.parse(input).seriesId, 'accept', {});
  }

  async submit(input: z.input<typeof reviewMethods.submit>): Promise<ReviewDecision> {
    return this.decide(reviewMethods.submit.parse(input).seriesId, 'submit', {});
  }

  async reject(input: z.input<typeof reviewMethods.reject>): Promise<ReviewDecision> {
    const { seriesId, reason } = reviewMethods.reject.parse(input);
    return this.decide(seriesId, 'reject', { reason });
  }

  async skip(input: z.input<typeof reviewMethods.skip>): Promise<ReviewDecision> {
    return this.decide(reviewMethods.skip.parse(input).seriesId, 'skip', {});
  }

  async flag(input: z.input<typeof reviewMethods.flag>): Promise<ReviewDecision> {
    const { seriesId, note } = reviewMethods.flag.parse(input);
    return this.decide(seriesId, 'flag', { note });
  }

  async assign(input: z.input<typeof reviewMethods.assign>): Promise<ReviewDecision> {
    const { seriesId, assignee, note } = reviewMethods.assign.parse(input);
    return this.decide(seriesId, 'assign', { assignee, note });
  }

  async reopen(input: z.input<typeof reviewMethods.reopen>): Promise<ReviewDecision> {
    return this.decide(reviewMethods.reopen.parse(input).seriesId, 'reopen', {});
  }

  async segmentOnRequest(input: z.input<typeof reviewMethods.segmentOnRequest>): Promise<{ item: ReviewItem; jobId: number }> {
    const { seriesId } = reviewMethods.segmentOnRequest.parse(input);
    this.sync();
    const t = transition(this.existing(seriesId).state, 'segment-on-request');
    if (!t.ok) throw new ServiceError('conflict', t.reason);
    // Queue the job first: if no model can run, the series stays outside the domain, unchanged.
    const { jobId } = await this.d.segment(seriesId);
    const { item } = this.decide(seriesId, 'segment-on-request', {}, { jobId });
    return { item, jobId };
  }

  async labels(input: z.input<typeof reviewMethods.labels>): Promise<SeriesLabels> {
    const { seriesId } = reviewMethods.labels.parse(input);
    if (!this.d.db.prepare('SELECT 1 FROM series WHERE id = ?').get(seriesId))
      throw new ServiceError('not-found', `no series ${seriesId}`);
    return seriesLabels(this.d.db, seriesId);
  }

  async setExcluded(input: z.input<typeof reviewMethods.setExcluded>): Promise<{ changed: number }> {
    const { imageIds, excluded, reason } = reviewMethods.setExcluded.parse(input);
    const db = this.d.db;
    const at = new Date().toISOString();
    return db
      .transaction(() => {
        const series = db
          .prepare(`SELECT DISTINCT series_id FROM images WHERE id IN (${imageIds.map(() => '?').join(',')})`)
          .pluck()
          .all(...imageIds) as number[];
        if (series.length === 0) throw new ServiceError('not-found', 'none of these images exists');
        const write = excluded
          ? db.prepare(
              'INSERT INTO training_exclusions (image_id, reason, excluded_at) SELECT id, ?, ? FROM images WHERE id = ? ON CONFLICT DO NOTHING',
            )
          : db.prepare('DELETE FROM training_exclusions WHERE image_id = ?');
        let changed = 0;
        for (const id of imageIds) changed += (excluded ? write.run(reason, at, id) : write.run(id)).changes;
        this.writeAudit(at, excluded ? 'training.exclude' : 'training.include', series.length === 1 ? series[0]! : null, null, {
          imageIds,
          reason,
          changed,
        });
        return { changed };
      })
      .immediate();
  }

  async audit(input?: z.input<typeof reviewMethods.audit>): Promise<AuditEntry[]> {
    return auditEntries(this.d.db, reviewMethods.audit.parse(input));
  }

  async metrics(): Promise<VersionReviewMetrics[]> {
    return versionMetrics(this.d.db);
  }

  private order(): ReviewOrder {
    return this.d.settings().reviewOrder;
  }

  private existing(seriesId: number): ReviewItem {
    const item = itemOf(this.d.db, seriesId);
    if (item) return item;
    if (!this.d.db.prepare('SELECT 1 FROM series WHERE id = ?').get(seriesId))
      throw new ServiceError('not-found', `no series ${seriesId}`);
    throw new ServiceError(
      'not-found',
      'This series has no prediction yet: it enters the review queue when its segmentation is done',
    );
  }

  /** Applies one action: state, labels, queue fields and the audit row in one transaction. */
  private decide(seriesId: number, action: ReviewAction, extra: Extra, auditExtra: Record<string, unknown> = {}): ReviewDecision {
    this.sync();
    const db = this.d.db;
    const at = new Date().toISOString();
    const settings = this.d.settings();
    const decision = db
      .transaction((): ReviewDecision => {
        const item = this.existing(seriesId);
        const t = transition(item.state, action);
        if (!t.ok) throw new ServiceError('conflict', t.reason);
        const queue: ReviewQueue = item.state === 'in-correction' ? 'correction' : 'review';
        const next = this.nextAfter(queue, seriesId, t.to === item.state);
        const opened = db.prepare('SELECT opened_at FROM review_items WHERE series_id = ?').pluck().get(seriesId) as
          string | null;
        const seconds = opened ? Math.min(MAX_REVIEW_SECONDS, Math.max(0, (Date.parse(at) - Date.parse(opened)) / 1000)) : 0;
        const context = { seriesId, modelVersionId: item.modelVersionId, author: userIdentity(settings), seconds, at };
        let written: WrittenLabels | null = null;
        let superseded = 0;
        let fromDraft = false;
        switch (t.labels) {
          case 'none':
            break;
          case 'from-prediction':
            ({ fromDraft, ...written } = labelsForAccept(db, context));
            break;
          case 'from-draft':
            written = labelsFromDraft(db, context);
            break;
          case 'supersede':
            superseded = supersede(db, seriesId, at);
            break;
          default:
            exhaustive(t.labels, 'label effect');
        }
        db.prepare(
          `UPDATE review_items SET state = @to, updated_at = @at,
             entered_at = CASE WHEN @to != state THEN @at ELSE entered_at END,
             skipped_at = CASE WHEN @skip THEN @at WHEN @to != state THEN NULL ELSE skipped_at END,
             opened_at = CASE WHEN @keepClock THEN opened_at ELSE NULL END,
             reject_reason = CASE WHEN @action = 'reject' THEN @reason WHEN @to = 'to-review' THEN '' ELSE reject_reason END,
             assignee = CASE WHEN @assignee IS NOT NULL THEN @assignee WHEN @to != 'in-correction' THEN '' ELSE assignee END,
             note = CASE WHEN @note IS NOT NULL THEN @note WHEN @to != 'in-correction' THEN '' ELSE note END,
             model_version_id = CASE WHEN @action = 'segment-on-request' THEN NULL ELSE model_version_id END
           WHERE series_id = @seriesId`,
        ).run({
          to: t.to,
          at,
          skip: action === 'skip' ? 1 : 0,
          keepClock: action === 'assign' ? 1 : 0,
          action,
          reason: extra.reason ?? '',
          assignee: extra.assignee ?? null,
          note: extra.note ?? null,
          seriesId,
        });
        // An accept decided from the reader's draft is a submit: the audit says so, not "accepted".
        this.writeAudit(at, auditAction(fromDraft ? 'submit' : action), seriesId, item.modelVersionId, {
          from: t.from,
          to: t.to,
          ...(fromDraft ? { key: 'accept', fromDraft: true } : {}),
          ...extra,
          seconds: Math.round(seconds * 10) / 10,
          ...(written ? { labels: provenance(written) } : {}),
          ...(superseded ? { supersededLabels: superseded } : {}),
          ...auditExtra,
        });
        return { item: this.existing(seriesId), next, labels: written?.labels ?? [], fromDraft };
      })
      .immediate();
    this.d.events.emit('onDidChangeReview', { seriesIds: [seriesId] });
    return decision;
  }

  /**
   * The case after `seriesId` in its queue's order, wrapping to the start (skipped ones last);
   * the case itself when it stays and is the only one left (a lone skipped case comes back).
   */
  private nextAfter(queue: ReviewQueue, seriesId: number, stays: boolean): ReviewItem | null {
    const list = queueItems(this.d.db, queue, this.order(), WHOLE_QUEUE, seriesId);
    const at = list.findIndex((i) => i.seriesId === seriesId);
    return list[at + 1] ?? list.find((i) => i.seriesId !== seriesId) ?? (stays ? (list[at] ?? null) : null);
  }

  private writeAudit(
    at: string,
    action: string,
    seriesId: number | null,
    modelVersionId: number | null,
    detail: Record<string, unknown>,
  ): void {
    const actor = userIdentity(this.d.settings());
    const subject =
      seriesId === null
        ? null
        : `series:${this.d.db.prepare('SELECT series_uid FROM series WHERE id = ?').pluck().get(seriesId) as string}`;
    appendAudit(this.d.db, { at, actor, action, subject, detail, seriesId, modelVersionId });
  }
}

/** The labels' provenance as the audit row keeps it: counts, and each changed image in full. */
function provenance(w: WrittenLabels) {
  const origins: Record<string, number> = {};
  for (const l of w.labels) origins[l.origin] = (origins[l.origin] ?? 0) + 1;
  const edited = w.labels.filter((l) => l.origin === 'edited');
  return {
    count: w.labels.length,
    origins,
    firstLabelId: w.labels[0]?.labelId ?? null,
    lastLabelId: w.labels.at(-1)?.labelId ?? null,
    edited: edited.map((l) => ({ imageId: l.imageId, editDice: l.editDice, pixelsChanged: l.pixelsChanged })),
    meanEditDice: edited.length ? edited.reduce((a, l) => a + (l.editDice ?? 0), 0) / edited.length : null,
    pixelsChanged: edited.reduce((a, l) => a + (l.pixelsChanged ?? 0), 0),
    split: w.split,
  };
}

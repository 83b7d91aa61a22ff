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
import {
  auditEntries,
  enqueuePredicted,
  hasDraft,
  insertCorrectionItem,
  itemOf,
  markOpened,
  openedAt,
  outsideDomainInserter,
  queueItems,
  seriesExists,
  seriesOfImages,
  seriesUid,
  seriesWithoutItem,
  setTrainingExclusion,
  statesOf,
  updateItem,
  versionMetrics,
} from './queries';
import { appendAudit } from '../db/audit';
import { enqueuePush } from '../dicomweb/push';

/** Longer than this between opening a series and deciding is not counted as review time. */
const MAX_REVIEW_SECONDS = 30 * 60;
const WHOLE_QUEUE = 1_000_000;

export interface ReviewDeps {
  db: Database;
  events: Emitter<Events>;
  registry: Pick<ModelRegistry, 'actives'>;
  settings: () => Settings;
  /** Queues a segmentation job of the task's active version (the inference engine's). */
  segment: (seriesId: number, taskId: number) => Promise<{ jobId: number }>;
}

interface Extra {
  reason?: string;
  note?: string;
  assignee?: string;
}

export class ReviewMainService implements ReviewService {
  constructor(private readonly d: ReviewDeps) {}

  /**
   * Brings review_items up to date with the database, for every task with an active version:
   * series the task does not cover (its domain) become `outside-domain` in its loop; series whose
   * prediction by the task's active version is complete enter its review queue. Cheap when
   * nothing changed, so every read calls it instead of listening for job events.
   */
  sync(): void {
    const actives = this.d.registry.actives();
    if (actives.length === 0) return;
    const db = this.d.db;
    db.transaction(() => {
      const outside = outsideDomainInserter(db);
      for (const active of actives) {
        for (const s of seriesWithoutItem(db, active.taskId)) {
          const a = applicability(active.manifest.domain, s);
          if (!a.inDomain) outside(s.id, active.taskId, a.reason);
        }
        enqueuePredicted(db, active.id, active.taskId);
      }
    }).immediate();
  }

  async queue(input: z.input<typeof reviewMethods.queue>): Promise<ReviewItem[]> {
    const q = reviewMethods.queue.parse(input);
    this.sync();
    return queueItems(this.d.db, q.queue, q.order ?? this.order(), q.limit, null, q.taskId);
  }

  async item(input: z.input<typeof reviewMethods.item>): Promise<ReviewItem> {
    const { seriesId, taskId, open } = reviewMethods.item.parse(input);
    this.sync();
    const item = this.existing(seriesId, taskId);
    // The clock starts at the first opening and runs until a decision, across reloads.
    if (open && (item.state === 'to-review' || item.state === 'in-correction')) {
      markOpened(this.d.db, seriesId, taskId, new Date().toISOString());
    }
    return item;
  }

  async neighbor(input: z.input<typeof reviewMethods.neighbor>): Promise<ReviewItem | null> {
    const { seriesId, taskId, direction, queue } = reviewMethods.neighbor.parse(input);
    this.sync();
    const list = queueItems(this.d.db, queue, this.order(), WHOLE_QUEUE, seriesId, taskId);
    const at = list.findIndex((i) => i.seriesId === seriesId);
    if (at < 0) throw new ServiceError('not-found', `no series ${seriesId} in the review loop`);
    return list[direction === 'next' ? at + 1 : at - 1] ?? null;
  }

  async states(input: z.input<typeof reviewMethods.states>): Promise<Record<number, ReviewState>> {
    this.sync();
    const { seriesIds, taskId } = reviewMethods.states.parse(input);
    return statesOf(this.d.db, seriesIds, taskId);
  }

  async accept(input: z.input<typeof reviewMethods.accept>): Promise<ReviewDecision> {
    const { seriesId, taskId } = reviewMethods.accept.parse(input);
    return this.decide(seriesId, taskId, 'accept', {});
  }

  async submit(input: z.input<typeof reviewMethods.submit>): Promise<ReviewDecision> {
    const { seriesId, taskId } = reviewMethods.submit.parse(input);
    return this.decide(seriesId, taskId, 'submit', {});
  }

  async reject(input: z.input<typeof reviewMethods.reject>): Promise<ReviewDecision> {
    const { seriesId, taskId, reason } = reviewMethods.reject.parse(input);
    return this.decide(seriesId, taskId, 'reject', { reason });
  }

  async skip(input: z.input<typeof reviewMethods.skip>): Promise<ReviewDecision> {
    const { seriesId, taskId } = reviewMethods.skip.parse(input);
    return this.decide(seriesId, taskId, 'skip', {});
  }

  async flag(input: z.input<typeof reviewMethods.flag>): Promise<ReviewDecision> {
    const { seriesId, taskId, note } = reviewMethods.flag.parse(input);
    return this.decide(seriesId, taskId, 'flag', { note });
  }

  async assign(input: z.input<typeof reviewMethods.assign>): Promise<ReviewDecision> {
    const { seriesId, taskId, assignee, note } = reviewMethods.assign.parse(input);
    return this.decide(seriesId, taskId, 'assign', { assignee, note });
  }

  async reopen(input: z.input<typeof reviewMethods.reopen>): Promise<ReviewDecision> {
    const { seriesId, taskId } = reviewMethods.reopen.parse(input);
    return this.decide(seriesId, taskId, 'reopen', {});
  }

  async segmentOnRequest(input: z.input<typeof reviewMethods.segmentOnRequest>): Promise<{ item: ReviewItem; jobId: number }> {
    const { seriesId, taskId } = reviewMethods.segmentOnRequest.parse(input);
    this.sync();
    const t = transition(this.existing(seriesId, taskId).state, 'segment-on-request');
    if (!t.ok) throw new ServiceError('conflict', t.reason);
    // Queue the job first: if no model can run, the series stays outside the domain, unchanged.
    const { jobId } = await this.d.segment(seriesId, taskId);
    const { item } = this.decide(seriesId, taskId, 'segment-on-request', {}, { jobId });
    return { item, jobId };
  }

  async labels(input: z.input<typeof reviewMethods.labels>): Promise<SeriesLabels> {
    const { seriesId, taskId } = reviewMethods.labels.parse(input);
    if (!seriesExists(this.d.db, seriesId)) throw new ServiceError('not-found', `no series ${seriesId}`);
    return seriesLabels(this.d.db, seriesId, taskId);
  }

  async setExcluded(input: z.input<typeof reviewMethods.setExcluded>): Promise<{ changed: number }> {
    const { imageIds, excluded, reason } = reviewMethods.setExcluded.parse(input);
    const db = this.d.db;
    const at = new Date().toISOString();
    return db
      .transaction(() => {
        const series = seriesOfImages(db, imageIds);
        if (series.length === 0) throw new ServiceError('not-found', 'none of these images exists');
        const changed = setTrainingExclusion(db, imageIds, excluded, reason, at);
        this.writeAudit(
          at,
          excluded ? 'training.exclude' : 'training.include',
          series.length === 1 ? series[0]! : null,
          null,
          null,
          {
            imageIds,
            reason,
            changed,
          },
        );
        return { changed };
      })
      .immediate();
  }

  async audit(input?: z.input<typeof reviewMethods.audit>): Promise<AuditEntry[]> {
    return auditEntries(this.d.db, reviewMethods.audit.parse(input));
  }

  async metrics(input?: z.input<typeof reviewMethods.metrics>): Promise<VersionReviewMetrics[]> {
    return versionMetrics(this.d.db, reviewMethods.metrics.parse(input)?.taskId);
  }

  private order(): ReviewOrder {
    return this.d.settings().reviewOrder;
  }

  private existing(seriesId: number, taskId: number): ReviewItem {
    const item = itemOf(this.d.db, seriesId, taskId);
    if (item) return item;
    if (!seriesExists(this.d.db, seriesId)) throw new ServiceError('not-found', `no series ${seriesId}`);
    throw new ServiceError(
      'not-found',
      'This series has no prediction yet: it enters the review queue when its segmentation is done',
    );
  }

  /** Applies one action: state, labels, queue fields and the audit row in one transaction. */
  private decide(
    seriesId: number,
    taskId: number,
    action: ReviewAction,
    extra: Extra,
    auditExtra: Record<string, unknown> = {},
  ): ReviewDecision {
    this.sync();
    const db = this.d.db;
    const at = new Date().toISOString();
    const settings = this.d.settings();
    const decision = db
      .transaction((): ReviewDecision => {
        // Cold start (issue 22): a task without a model has no prediction to queue the series,
        // so the reader's own drawing of it (a saved draft) opens its item, to be submitted.
        if (action === 'submit' && !itemOf(db, seriesId, taskId) && hasDraft(db, seriesId, taskId))
          insertCorrectionItem(db, seriesId, taskId);
        const item = this.existing(seriesId, taskId);
        const t = transition(item.state, action);
        if (!t.ok) throw new ServiceError('conflict', t.reason);
        const queue: ReviewQueue = item.state === 'in-correction' ? 'correction' : 'review';
        const next = this.nextAfter(queue, seriesId, taskId, t.to === item.state);
        const opened = openedAt(db, seriesId, taskId);
        const seconds = opened ? Math.min(MAX_REVIEW_SECONDS, Math.max(0, (Date.parse(at) - Date.parse(opened)) / 1000)) : 0;
        const context = { seriesId, taskId, modelVersionId: item.modelVersionId, author: userIdentity(settings), seconds, at };
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
            superseded = supersede(db, seriesId, at, taskId);
            break;
          default:
            exhaustive(t.labels, 'label effect');
        }
        // A task set to push sends the submitted labels to its PACS: queued with the decision (issue 26).
        if (written && written.labels.length > 0) enqueuePush(db, taskId, seriesId);
        updateItem(db, {
          seriesId,
          taskId,
          to: t.to,
          action,
          at,
          reason: extra.reason ?? '',
          assignee: extra.assignee ?? null,
          note: extra.note ?? null,
        });
        // An accept decided from the reader's draft is a submit: the audit says so, not "accepted".
        this.writeAudit(at, auditAction(fromDraft ? 'submit' : action), seriesId, item.modelVersionId, taskId, {
          from: t.from,
          to: t.to,
          ...(fromDraft ? { key: 'accept', fromDraft: true } : {}),
          ...extra,
          seconds: Math.round(seconds * 10) / 10,
          ...(written ? { labels: provenance(written) } : {}),
          ...(superseded ? { supersededLabels: superseded } : {}),
          ...auditExtra,
        });
        return { item: this.existing(seriesId, taskId), next, labels: written?.labels ?? [], fromDraft };
      })
      .immediate();
    this.d.events.emit('onDidChangeReview', { seriesIds: [seriesId] });
    return decision;
  }

  /**
   * The case after `seriesId` in its queue's order, wrapping to the start (skipped ones last);
   * the case itself when it stays and is the only one left (a lone skipped case comes back).
   */
  private nextAfter(queue: ReviewQueue, seriesId: number, taskId: number, stays: boolean): ReviewItem | null {
    const list = queueItems(this.d.db, queue, this.order(), WHOLE_QUEUE, seriesId, taskId);
    const at = list.findIndex((i) => i.seriesId === seriesId);
    return list[at + 1] ?? list.find((i) => i.seriesId !== seriesId) ?? (stays ? (list[at] ?? null) : null);
  }

  private writeAudit(
    at: string,
    action: string,
    seriesId: number | null,
    modelVersionId: number | null,
    taskId: number | null,
    detail: Record<string, unknown>,
  ): void {
    const actor = userIdentity(this.d.settings());
    const subject = seriesId === null ? null : `series:${seriesUid(this.d.db, seriesId)}`;
    appendAudit(this.d.db, { at, actor, action, subject, detail, seriesId, modelVersionId, taskId });
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
    taskId: w.labels[0]?.taskId ?? null,
    edited: edited.map((l) => ({
      imageId: l.imageId,
      editDice: l.editDice,
      editDiceByLabel: l.editDiceByLabel,
      pixelsChanged: l.pixelsChanged,
    })),
    meanEditDice: edited.length ? edited.reduce((a, l) => a + (l.editDice ?? 0), 0) / edited.length : null,
    meanEditDiceByLabel: meanByLabel(edited.map((l) => l.editDiceByLabel)),
    pixelsChanged: edited.reduce((a, l) => a + (l.pixelsChanged ?? 0), 0),
    split: w.split,
  };
}

/** Mean edit Dice of each label value over the edited images that scored it; null when none. */
function meanByLabel(records: (Record<number, number> | null)[]): Record<number, number> | null {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const r of records) {
    if (!r) continue;
    for (const [k, v] of Object.entries(r)) {
      const s = sums.get(Number(k)) ?? { sum: 0, n: 0 };
      s.sum += v;
      s.n++;
      sums.set(Number(k), s);
    }
  }
  if (sums.size === 0) return null;
  return Object.fromEntries([...sums].sort((a, b) => a[0] - b[0]).map(([k, s]) => [k, s.sum / s.n]));
}

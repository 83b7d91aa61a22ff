// The review state machine of one series: which decisions are allowed from which state, and
// what each does. Pure (no I/O): the backend applies it inside the transaction that writes the
// labels and the audit row, and the renderer uses it to grey out keys that would be refused.
import { exhaustive } from '../result';

/**
 * Where a series stands in the review loop.
 * - `to-review`: the active model's prediction waits for a decision (the review queue).
 * - `in-correction`: rejected or flagged; a label must be drawn or fixed (the correction queue).
 * - `labelled`: a final label was accepted or submitted.
 * - `outside-domain`: the model is not meant for this series (model.json `domain`); it is not
 *   segmented automatically and waits for the user to ask.
 */
export const REVIEW_STATES = ['to-review', 'in-correction', 'labelled', 'outside-domain'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/**
 * What a reviewer can do to a series (next/previous are queue navigation, not decisions).
 * - `accept`: the prediction becomes the label unchanged (A).
 * - `submit`: the saved draft becomes the label (E, then Ctrl/Cmd+Enter; or a correction's end).
 * - `reject`: to the correction queue, with an optional reason (R).
 * - `skip`: stays to review, after the others (S).
 * - `flag`: a labelled or outside-domain series needs a mask drawn or fixed (correction queue).
 * - `assign`: a correction's assignee and note change.
 * - `reopen`: undo of a decision: the current labels are superseded and the series waits again.
 * - `segment-on-request`: the user confirmed segmenting an outside-domain series.
 */
export const REVIEW_ACTIONS = ['accept', 'submit', 'reject', 'skip', 'flag', 'assign', 'reopen', 'segment-on-request'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

/** What the backend must do to the labels along with the state change. */
export type LabelEffect =
  | 'none'
  /** Copy the prediction's maps into new label rows (origin `accepted`). */
  | 'from-prediction'
  /** Copy the saved draft into new label rows (origin `edited`, `accepted` or `drawn` per image). */
  | 'from-draft'
  /** Mark the current label rows superseded. */
  | 'supersede';

export type Transition =
  { ok: true; from: ReviewState; to: ReviewState; labels: LabelEffect } | { ok: false; from: ReviewState; reason: string };

const allow = (from: ReviewState, to: ReviewState, labels: LabelEffect = 'none'): Transition => ({ ok: true, from, to, labels });
const refuse = (from: ReviewState, reason: string): Transition => ({ ok: false, from, reason });

/** The single rule table: `action` applied to a series in state `from`. */
export function transition(from: ReviewState, action: ReviewAction): Transition {
  switch (action) {
    case 'accept':
      return from === 'to-review' ? allow(from, 'labelled', 'from-prediction') : refuse(from, refusal(from, 'accepted'));
    case 'submit':
      // A labelled series may be re-submitted: the new rows supersede the old ones.
      if (from === 'to-review' || from === 'in-correction' || from === 'labelled') return allow(from, 'labelled', 'from-draft');
      return refuse(from, 'This series is outside the model’s domain: flag it for correction or segment it first');
    case 'reject':
      return from === 'to-review' ? allow(from, 'in-correction') : refuse(from, refusal(from, 'rejected'));
    case 'skip':
      if (from === 'to-review' || from === 'in-correction') return allow(from, from);
      return refuse(from, refusal(from, 'skipped'));
    case 'flag':
      if (from === 'labelled') return allow(from, 'in-correction', 'supersede');
      if (from === 'outside-domain') return allow(from, 'in-correction');
      if (from === 'to-review') return refuse(from, 'Reject the prediction (R) to send it for correction');
      return refuse(from, 'This series is already in the correction queue');
    case 'assign':
      return from === 'in-correction' ? allow(from, from) : refuse(from, 'Only a series in the correction queue has an assignee');
    case 'reopen':
      if (from === 'labelled') return allow(from, 'to-review', 'supersede');
      if (from === 'in-correction') return allow(from, 'to-review');
      return refuse(
        from,
        from === 'to-review' ? 'This series is already waiting for review' : 'This series has no decision to undo',
      );
    case 'segment-on-request':
      return from === 'outside-domain'
        ? allow(from, 'to-review')
        : refuse(from, 'This series is within the model’s domain and is segmented automatically');
    default:
      return exhaustive(action, 'review action');
  }
}

function refusal(from: ReviewState, verb: string): string {
  switch (from) {
    case 'to-review':
      return `This series cannot be ${verb} now`;
    case 'in-correction':
      return 'This series is in the correction queue: draw or fix its label and submit it';
    case 'labelled':
      return 'This series is already labelled: flag it for correction to change its label';
    case 'outside-domain':
      return `This series is outside the model’s domain and has no prediction to be ${verb}`;
    default:
      return exhaustive(from, 'review state');
  }
}

/** The audit log's action name of a review transition. */
export function auditAction(action: ReviewAction): `review.${ReviewAction}` {
  return `review.${action}`;
}

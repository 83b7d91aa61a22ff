import { describe, expect, it } from 'vitest';
import { REVIEW_ACTIONS, REVIEW_STATES, transition, type LabelEffect, type ReviewAction, type ReviewState } from './state';

type Expected = [ReviewState, LabelEffect] | 'refused';

// Every action from every state, written out in full: a change to the rules must change this table.
const TABLE: Record<ReviewState, Record<ReviewAction, Expected>> = {
  'to-review': {
    accept: ['labelled', 'from-prediction'],
    submit: ['labelled', 'from-draft'],
    reject: ['in-correction', 'none'],
    skip: ['to-review', 'none'],
    flag: 'refused',
    assign: 'refused',
    reopen: 'refused',
    'segment-on-request': 'refused',
  },
  'in-correction': {
    accept: 'refused',
    submit: ['labelled', 'from-draft'],
    reject: 'refused',
    skip: ['in-correction', 'none'],
    flag: 'refused',
    assign: ['in-correction', 'none'],
    reopen: ['to-review', 'none'],
    'segment-on-request': 'refused',
  },
  labelled: {
    accept: 'refused',
    submit: ['labelled', 'from-draft'],
    reject: 'refused',
    skip: 'refused',
    flag: ['in-correction', 'supersede'],
    assign: 'refused',
    reopen: ['to-review', 'supersede'],
    'segment-on-request': 'refused',
  },
  'outside-domain': {
    accept: 'refused',
    submit: 'refused',
    reject: 'refused',
    skip: 'refused',
    flag: ['in-correction', 'none'],
    assign: 'refused',
    reopen: 'refused',
    'segment-on-request': ['to-review', 'none'],
  },
};

describe('review state machine', () => {
  const cases = REVIEW_STATES.flatMap((state) => REVIEW_ACTIONS.map((action) => [state, action, TABLE[state][action]] as const));

  it('covers every state × action pair', () => {
    expect(cases).toHaveLength(REVIEW_STATES.length * REVIEW_ACTIONS.length);
    for (const [, , expected] of cases) expect(expected).toBeDefined();
  });

  it.each(cases)('%s + %s', (state, action, expected) => {
    const t = transition(state, action);
    expect(t.from).toBe(state);
    if (expected === 'refused') {
      expect(t.ok).toBe(false);
      // A refusal is shown to the reader as it is: a sentence, not a code.
      if (!t.ok) expect(t.reason).toMatch(/^[A-Z].{15,}[^.]$/);
    } else {
      expect(t).toEqual({ ok: true, from: state, to: expected[0], labels: expected[1] });
    }
  });

  it('only accept and submit make labels; only leaving `labelled` supersedes them', () => {
    for (const [state, action] of cases) {
      const t = transition(state, action);
      if (!t.ok) continue;
      if (t.labels === 'from-prediction' || t.labels === 'from-draft') expect(['accept', 'submit']).toContain(action);
      if (t.labels === 'supersede') expect(state).toBe('labelled');
      if (state === 'labelled' && t.to !== 'labelled') expect(t.labels).toBe('supersede');
    }
  });

  it('every state can reach `labelled`', () => {
    const reach = new Set<ReviewState>(['labelled']);
    for (let changed = true; changed;) {
      changed = false;
      for (const [state, action] of cases) {
        const t = transition(state, action);
        if (t.ok && reach.has(t.to) && !reach.has(state)) {
          reach.add(state);
          changed = true;
        }
      }
    }
    expect([...reach].sort()).toEqual([...REVIEW_STATES].sort());
  });

  it('refuses an unknown action at run time', () => {
    expect(() => transition('to-review', 'approve' as ReviewAction)).toThrow(/unhandled review action/);
  });
});

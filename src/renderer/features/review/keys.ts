// The review keys, one per decision, shown on the action bar and matched here. While deciding
// they take precedence over the viewer's own letters (A, E, R, S, N, P); while editing the
// viewer has every key back, except Ctrl/Cmd+Enter (submit) and Esc (back to deciding).
import type { ReviewMode, ReviewTab } from './review.svelte';

export type ReviewKey =
  'accept' | 'edit' | 'reject' | 'skip' | 'next' | 'prev' | 'submit' | 'leave-edit' | 'undo-accept' | `tab-${ReviewTab}`;

export const REVIEW_KEYS: readonly { id: ReviewKey; keys: string; label: string }[] = [
  { id: 'accept', keys: 'A', label: 'Accept' },
  { id: 'edit', keys: 'E', label: 'Edit' },
  { id: 'submit', keys: 'Ctrl+Enter', label: 'Submit' },
  { id: 'reject', keys: 'R', label: 'Reject' },
  { id: 'skip', keys: 'S', label: 'Skip' },
  { id: 'next', keys: 'N', label: 'Next' },
  { id: 'prev', keys: 'P', label: 'Previous' },
];

export const TAB_KEYS: readonly { tab: ReviewTab; keys: string; label: string }[] = [
  { tab: 'review', keys: 'Shift+1', label: 'Review queue' },
  { tab: 'correction', keys: 'Shift+2', label: 'Corrections' },
  { tab: 'audit', keys: 'Shift+3', label: 'Audit log' },
];

const LETTERS: Record<string, ReviewKey> = { a: 'accept', e: 'edit', r: 'reject', s: 'skip', n: 'next', p: 'prev' };
const TABS: Record<string, ReviewTab> = { Digit1: 'review', Digit2: 'correction', Digit3: 'audit' };

/** The review key a keydown means in `mode`, or null (the event then goes to the viewer). */
export function reviewKey(
  e: Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>,
  mode: ReviewMode,
): ReviewKey | null {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !e.altKey && e.key === 'Enter') return mode === 'reject' ? null : 'submit';
  if (mode === 'edit') return e.key === 'Escape' && !mod ? 'leave-edit' : null;
  if (mode === 'reject') return null; // the reason field has the keyboard
  if (mod && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'z') return 'undo-accept';
  if (mod || e.altKey) return null;
  if (e.shiftKey) {
    const tab = TABS[e.code];
    return tab ? `tab-${tab}` : null;
  }
  return LETTERS[e.key.toLowerCase()] ?? null;
}

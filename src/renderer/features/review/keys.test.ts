import { describe, expect, it } from 'vitest';
import { reviewKey } from './keys';

const key = (key: string, more: Partial<KeyboardEvent> = {}) => ({
  key,
  code: '',
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  shiftKey: false,
  ...more,
});

describe('review keys', () => {
  it('deciding: one letter per decision, over the viewer’s own letters', () => {
    expect(['a', 'e', 'r', 's', 'n', 'p', 'A'].map((k) => reviewKey(key(k), 'decide'))).toEqual([
      'accept',
      'edit',
      'reject',
      'skip',
      'next',
      'prev',
      'accept',
    ]);
    expect(reviewKey(key('b'), 'decide')).toBeNull();
    expect(reviewKey(key('ArrowDown'), 'decide')).toBeNull();
    expect(reviewKey(key('!', { shiftKey: true, code: 'Digit1' }), 'decide')).toBe('tab-review');
    expect(reviewKey(key('#', { shiftKey: true, code: 'Digit3' }), 'decide')).toBe('tab-audit');
    expect(reviewKey(key('z', { ctrlKey: true }), 'decide')).toBe('undo-accept');
  });

  it('editing: the viewer keeps its letters and undo; Ctrl/Cmd+Enter submits, Esc leaves', () => {
    for (const k of ['a', 'e', 'r', 's', 'n', 'p']) expect(reviewKey(key(k), 'edit')).toBeNull();
    expect(reviewKey(key('z', { ctrlKey: true }), 'edit')).toBeNull();
    expect(reviewKey(key('Enter', { ctrlKey: true }), 'edit')).toBe('submit');
    expect(reviewKey(key('Enter', { metaKey: true }), 'edit')).toBe('submit');
    expect(reviewKey(key('Enter'), 'edit')).toBeNull();
    expect(reviewKey(key('Escape'), 'edit')).toBe('leave-edit');
  });

  it('typing a reject reason: no key is taken from the field', () => {
    for (const k of ['a', 'e', 'r', 's', 'n', 'p', 'Escape']) expect(reviewKey(key(k), 'reject')).toBeNull();
    expect(reviewKey(key('Enter', { ctrlKey: true }), 'reject')).toBeNull();
  });
});

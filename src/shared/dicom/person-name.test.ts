import { describe, expect, it } from 'vitest';
import { formatPersonName, searchWords } from './person-name';

describe('person names', () => {
  it('shows family, given middle with prefix and suffix, from the first non-empty group', () => {
    expect(formatPersonName('DEMO^PHANTOM^0001')).toBe('DEMO, PHANTOM 0001');
    expect(formatPersonName('Doe^John^Q^Dr^Jr')).toBe('Doe, Dr John Q, Jr');
    expect(formatPersonName('CompressedSamples^CT1')).toBe('CompressedSamples, CT1');
    expect(formatPersonName('Smith')).toBe('Smith');
    expect(formatPersonName('Smith^^^')).toBe('Smith');
    expect(formatPersonName('^^^^')).toBe('');
    expect(formatPersonName('=Yamada^Tarou=やまだ^たろう')).toBe('Yamada, Tarou');
    expect(formatPersonName('us-scans')).toBe('us-scans'); // a folder name for photographs
  });

  it('splits a search into the words of what is shown', () => {
    expect(searchWords('DEMO, PHANTOM 0001')).toEqual(['DEMO', 'PHANTOM', '0001']);
    expect(searchWords(' demo^phantom ')).toEqual(['demo', 'phantom']);
    expect(searchWords('  ')).toEqual([]);
  });
});

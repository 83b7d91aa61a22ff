// Dice per label of two label maps of one task (uint8, one value per pixel, 0 = background):
// the Sørensen–Dice coefficient 2|A∩B| / (|A| + |B|) of each label value's pixels (Dice 1945).

/**
 * Dice of each label value between `a` and `b` (same length, row-major pixels). `values` lists
 * the labels to score (default: every nonzero value present in either map); a label absent from
 * both maps scores 1 (both agree it is not there). Returns value → Dice, in `values` order.
 * Throws RangeError when the lengths differ.
 */
export function diceByLabel(a: ArrayLike<number>, b: ArrayLike<number>, values?: readonly number[]): Record<number, number> {
  if (a.length !== b.length) throw new RangeError(`label maps of ${a.length} and ${b.length} pixels cannot be compared`);
  const inter = new Float64Array(256);
  const sa = new Float64Array(256);
  const sb = new Float64Array(256);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    sa[x]!++;
    sb[y]!++;
    if (x === y) inter[x]!++;
  }
  const list = values ?? [...Array(255).keys()].map((k) => k + 1).filter((v) => sa[v]! > 0 || sb[v]! > 0);
  const out: Record<number, number> = {};
  for (const v of list) out[v] = sa[v]! + sb[v]! === 0 ? 1 : (2 * inter[v]!) / (sa[v]! + sb[v]!);
  return out;
}

/** The mean of a per-label Dice record (NaN for none). */
export function meanOverLabels(byLabel: Record<number, number>): number {
  const xs = Object.values(byLabel);
  return xs.length === 0 ? Number.NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

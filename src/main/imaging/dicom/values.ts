// Reads values out of a dcmjs naturalized data set, whose shapes vary with VM and VR: a scalar
// for VM 1, an array otherwise, strings for IS/DS, {Alphabetic} objects for PN, and sequences
// that are arrays of data sets.

export type Dataset = Record<string, unknown>;

function first(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

export function str(ds: Dataset, key: string): string {
  const v = first(ds[key]);
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v.replace(/\0+$/, '').trim();
  if (typeof v === 'number') return String(v);
  return '';
}

export function personName(ds: Dataset, key: string): string {
  const v = first(ds[key]);
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object') {
    // All three component groups (PS3.5 §6.2.1.1): alphabetic=ideographic=phonetic, empty
    // trailing groups dropped, as the fast header path and pydicom's str() give it.
    const { Alphabetic, Ideographic, Phonetic } = v as { Alphabetic?: unknown; Ideographic?: unknown; Phonetic?: unknown };
    const text = (x: unknown) => (typeof x === 'string' ? x.trim() : '');
    return [text(Alphabetic), text(Ideographic), text(Phonetic)].join('=').replace(/=+$/, '');
  }
  return '';
}

function toNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export function num(ds: Dataset, key: string): number | null {
  return toNumber(first(ds[key]));
}

export function int(ds: Dataset, key: string): number | null {
  const n = num(ds, key);
  return n === null ? null : Math.trunc(n);
}

/** Exactly `count` finite numbers, or null. A DS string "a\\b" not yet split is split here. */
export function nums(ds: Dataset, key: string, count: number): number[] | null {
  let v = ds[key];
  if (typeof v === 'string') v = v.split('\\');
  // dcmjs naturalizes a single value to a scalar.
  else if (typeof v === 'number') v = [v];
  if (!Array.isArray(v) || v.length < count) return null;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const n = toNumber(v[i]);
    if (n === null) return null;
    out.push(n);
  }
  return out;
}

export function items(ds: Dataset, key: string): Dataset[] {
  const v = ds[key];
  if (Array.isArray(v)) return v.filter((x): x is Dataset => typeof x === 'object' && x !== null && !ArrayBuffer.isView(x));
  if (v && typeof v === 'object' && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer)) return [v as Dataset];
  return [];
}

export function firstItem(ds: Dataset, ...path: string[]): Dataset | undefined {
  let cur: Dataset | undefined = ds;
  for (const key of path) {
    cur = cur ? items(cur, key)[0] : undefined;
  }
  return cur;
}

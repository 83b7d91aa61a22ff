// The code picker's choices: the shipped SNOMED CT catalogue as options keyed by scheme and
// value, plus "local" (a code the workstation makes up from the label's name).
import type { CatalogueEntry, CodedConcept } from '../../../shared/model/codes';

export const LOCAL = 'local';

export function codeKey(c: CodedConcept): string {
  return `${c.scheme}:${c.value}`;
}

/** The catalogue entry a picker value names; undefined for "local". */
export function entryFor(catalogue: readonly CatalogueEntry[], key: string): CatalogueEntry | undefined {
  return key === LOCAL ? undefined : catalogue.find((e) => codeKey(e.type) === key);
}

/** Options grouped by category meaning, for <optgroup>. */
export function groups(catalogue: readonly CatalogueEntry[]): { label: string; entries: CatalogueEntry[] }[] {
  const out = new Map<string, CatalogueEntry[]>();
  for (const e of catalogue) out.set(e.category.meaning, [...(out.get(e.category.meaning) ?? []), e]);
  return [...out].map(([label, entries]) => ({
    label,
    entries: entries.sort((a, b) => a.type.meaning.localeCompare(b.type.meaning)),
  }));
}

/** "Thyroid (SCT 69748006)" */
export function describeCode(c: CodedConcept): string {
  return `${c.meaning} (${c.scheme} ${c.value})`;
}

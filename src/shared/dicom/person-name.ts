// Person Name (PN) values as a reader expects to see them, one way everywhere (worklist, viewer,
// exports' previews), and the words a worklist search matches against.

/**
 * "Family, Given Middle" from a DICOM PN value (PS3.5 §6.2: components family^given^middle^
 * prefix^suffix; component groups alphabetic=ideographic=phonetic, the first non-empty shown).
 * Prefix goes before the given name, suffix after a comma: "DOE^JOHN^Q^DR^JR" → "DOE, DR JOHN Q, JR".
 * A value without carets (a folder name for photographs) is shown as it is. Empty → "".
 */
export function formatPersonName(value: string): string {
  const group = value.split('=').find((g) => g.replaceAll('^', '').trim() !== '') ?? '';
  if (!group.includes('^')) return group.trim();
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = group.split('^').map((c) => c.trim());
  const rest = [prefix, given, middle].filter(Boolean).join(' ');
  return [family, rest, suffix].filter(Boolean).join(', ');
}

/**
 * The words of a search as the worklist matches them: split on spaces, commas and carets, so
 * "DEMO, PHANTOM", "demo phantom" and "DEMO^PHANTOM" all find what is shown as "DEMO, PHANTOM 0001".
 */
export function searchWords(query: string): string[] {
  return query
    .split(/[\s,^=]+/)
    .map((w) => w.trim())
    .filter(Boolean)
    .slice(0, 8);
}

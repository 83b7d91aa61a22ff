// The one parser of Decimal String (DS) and Integer String (IS) values, used by both DICOM
// readers (the import's fast header path and the full dcmjs-based reader), so that one invalid
// value never gives two different numbers. PS3.5 §6.2: DS is a fixed or floating point number
// ("[+-]?digits[.digits][(e|E)[+-]digits]", leading/trailing spaces allowed, 16 bytes at most);
// IS an optionally signed integer; several values are separated by "\".
//
// A value that is not valid is repaired only where the repair is unambiguous: a decimal comma
// ("0,5" → 0.5, "-1024,5" → −1024.5), as fo-dicom reads files written with the wrong culture.
// A comma that could be a thousands separator ("1,024") or a value separator ("0.7,0.7") is not
// guessed at: the value is refused. Either way the note says so, for the import report.

const DS = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const IS = /^[+-]?\d+$/;
const DECIMAL_COMMA = /^[+-]?\d+,\d+$/;
// "1,024" or "12,500": a thousands separator as much as a decimal comma.
const THOUSANDS = /^[+-]?[1-9]\d{0,2},\d{3}$/;

export interface ParsedNumbers {
  /** Every value, or null when any is not a number (or there are none). */
  values: number[] | null;
  /** Set when a value was repaired or refused: words for the import report. */
  note?: string;
}

/**
 * Parses a DS or IS value (all its "\"-separated values). `name` names the attribute in the
 * note, e.g. "Rescale Slope". `vm`, when given, is the number of values the attribute must
 * have (Pixel Spacing 2, Image Position (Patient) 3, Image Orientation (Patient) 6): another
 * count is refused with a note.
 */
export function parseNumbers(text: string, vr: 'DS' | 'IS', name: string, vm?: number): ParsedNumbers {
  const trimmed = text.replace(/\0+$/, '').trim();
  if (trimmed === '') return { values: null };
  const parts = trimmed.split('\\').map((s) => s.trim());
  const values: number[] = [];
  let repaired = false;
  for (const part of parts) {
    if (vr === 'DS' ? DS.test(part) : IS.test(part)) {
      values.push(Number(part));
      continue;
    }
    if (vr === 'DS' && DECIMAL_COMMA.test(part) && !THOUSANDS.test(part)) {
      values.push(Number(part.replace(',', '.')));
      repaired = true;
      continue;
    }
    // Out-of-spec but unambiguous forms many writers use: "1." or " 5 " are valid already; an IS
    // written as "5.0" is the integer 5.
    if (vr === 'IS' && /^[+-]?\d+\.0*$/.test(part)) {
      values.push(Number(part));
      continue;
    }
    return {
      values: null,
      note: `${name}${shown(trimmed)} is not a valid ${vr === 'DS' ? 'decimal' : 'integer'} string: ignored`,
    };
  }
  if (!values.every(Number.isFinite)) return { values: null, note: `${name}${shown(trimmed)} is out of range: ignored` };
  if (vm !== undefined && values.length !== vm)
    return {
      values: null,
      note: `${name}${shown(trimmed)} has ${values.length} value${values.length === 1 ? '' : 's'}, not ${vm}: ignored`,
    };
  return repaired ? { values, note: `${name}${shown(trimmed)} has a decimal comma: read as ${values.join('\\')}` } : { values };
}

/**
 * The value quoted for a note when it reads as text (printable ASCII, 128 characters at most: a
 * DS value is 16 bytes, six of them make Image Orientation); bytes of a damaged file are never
 * echoed (issue 23 item 7): the note then names the attribute only.
 */
function shown(value: string): string {
  return /^[\x20-\x7e]{1,128}$/.test(value) ? ` "${value}"` : '';
}

/**
 * The geometry checks both readers apply (PS3.3 C.7.6.2, C.7.6.3): Pixel Spacing and Slice
 * Thickness positive, Image Orientation (Patient) two unit vectors at right angles (within 1e-3,
 * as dcm2niix and ITK tolerate rounding). Returns the note when a value must be ignored.
 */
export function geometryProblem(what: 'spacing' | 'thickness' | 'orientation', values: readonly number[]): string | undefined {
  if (what === 'spacing')
    return values.every((v) => v > 0) ? undefined : `Pixel Spacing ${values.join('\\')} is not positive: ignored`;
  if (what === 'thickness')
    return values.every((v) => v > 0) ? undefined : `Slice Thickness ${values.join('\\')} is not positive: ignored`;
  const [a, b, c, d, e, f] = values as [number, number, number, number, number, number];
  const unit = (x: number, y: number, z: number) => Math.abs(Math.hypot(x, y, z) - 1) < 1e-3;
  if (unit(a, b, c) && unit(d, e, f) && Math.abs(a * d + b * e + c * f) < 1e-3) return undefined;
  return `Image Orientation (Patient) ${values.join('\\')} is not two unit vectors at right angles: ignored`;
}

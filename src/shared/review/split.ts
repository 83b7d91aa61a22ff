// The frozen training/validation split: decided once per patient (Patient ID, or the study when
// the images carry none) by a deterministic rule, so the same labels give the same split in any
// submission order, on any machine, after any restart, and no patient sits on both sides.

/** Share of split keys that go to validation (the rule gives ~20 %). */
export const VALIDATION_PER_MILLE = 200;

export type Split = 'training' | 'validation';

/**
 * The key a split is decided for: `patient:<patient key>` when the patient has a Patient ID
 * (0010,0020), else `study:<Study Instance UID>`, because images without a Patient ID cannot
 * be told apart from another patient's and the study is the widest unit known to be one person.
 */
export function splitKey(patient: { patientKey: string; patientId: string }, studyUid: string): string {
  return patient.patientId.trim() !== '' ? `patient:${patient.patientKey}` : `study:${studyUid}`;
}

/**
 * Training or validation for a split key: FNV-1a (32 bit) of its UTF-8 bytes, modulo 1000,
 * below {@link VALIDATION_PER_MILLE} → validation. FNV-1a spreads short, similar keys (UIDs
 * differing in one digit) evenly, and needs no crypto library in `src/shared`.
 */
export function splitFor(key: string): Split {
  return fnv1a32(key) % 1000 < VALIDATION_PER_MILLE ? 'validation' : 'training';
}

/** FNV-1a, 32 bit (Fowler, Noll, Vo; offset basis 2166136261, prime 16777619). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

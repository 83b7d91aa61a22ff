// Laterality of a task's labels: whether a label names a side of the body (right kidney, left
// lung). A mirrored image shows the patient's right on the left, so a network trained or
// test-time augmented with mirrors learns, or averages in, the other side's label: flipping a
// prediction of "right kidney" back paints it over the left kidney. Mirrors (left-right or
// up-down flips, and the 180° turn that is both) are therefore never used for such a task:
// not in 2D training augmentation (the trainer's --no-flip), not in test-time augmentation.
import { CODE_CATALOGUE, type CodedConcept } from './codes';

/** What laterality is read from: a label's name and its Segmented Property Type code. */
export interface LabelForLaterality {
  name: string;
  type: Pick<CodedConcept, 'value' | 'scheme' | 'meaning'>;
}

/** "left" or "right" as a whole word, any case ("Right kidney", "left-lung", "Kidney, RIGHT"; not "bright", "upright"). */
const SIDE_WORD = /(?:^|[^a-z])(left|right)(?:$|[^a-z])/i;

/** Whether a text says left or right as a word. */
function saysSide(text: string): boolean {
  return SIDE_WORD.test(text);
}

/**
 * SNOMED CT codes (scheme SCT) of the shipped catalogue (codes.ts) whose Code Meaning names a
 * side (today 9846003 Right kidney and 18639004 Left kidney), so a label keeps its side when the
 * reader renamed it ("Kidney A") but kept the code.
 */
export const LATERAL_SCT_CODES: ReadonlySet<string> = new Set(
  CODE_CATALOGUE.filter((e) => e.type.scheme === 'SCT' && saysSide(e.type.meaning)).map((e) => e.type.value),
);

/**
 * Whether one label has a side: its name or its type's Code Meaning says "left" or "right" as a
 * whole word (case-insensitive; abbreviations such as "L kidney" are not read), or its type is
 * one of LATERAL_SCT_CODES.
 */
export function isLateralLabel(label: LabelForLaterality): boolean {
  if (saysSide(label.name) || saysSide(label.type.meaning)) return true;
  return label.type.scheme.toUpperCase() === 'SCT' && LATERAL_SCT_CODES.has(label.type.value);
}

/**
 * The labels of `labels` that have a side (isLateralLabel), in the order given. Pass every
 * label of the task, retired ones too: a version trained before a label was retired still
 * predicts it, so its test-time augmentation must not mirror either.
 */
export function lateralLabels<L extends LabelForLaterality>(labels: readonly L[]): L[] {
  return labels.filter(isLateralLabel);
}

/** Whether any of the task's labels has a side: then no image of the task is ever mirrored (see the file's comment). */
export function hasLaterality(labels: readonly LabelForLaterality[]): boolean {
  return labels.some(isLateralLabel);
}

/**
 * The flips test-time augmentation of a 2D model uses for a task: none (0: the one unflipped
 * pass) when its labels have a side, else the requested number (the setting or the job's own).
 * This is what is run and stored (predictions.tta_flips, the job's and the gate's ttaFlips).
 */
export function ttaFlipsForTask(requested: 0 | 2 | 4, labels: readonly LabelForLaterality[]): 0 | 2 | 4 {
  return hasLaterality(labels) ? 0 : requested;
}

/**
 * What the reader is told about a task whose labels have a side, naming them (at most three,
 * then how many more); null for a task without one.
 */
export function mirroringOffNote(labels: readonly LabelForLaterality[]): string | null {
  const sided = lateralLabels(labels).map((l) => l.name);
  if (sided.length === 0) return null;
  const named = sided.length <= 3 ? sided.join(', ') : `${sided.slice(0, 3).join(', ')} and ${sided.length - 3} more`;
  return (
    `Left-right mirroring is off for this task because its labels have a side (${named}): ` +
    'training does not flip or turn its images, and segmentation does not average flipped images, whatever the test-time augmentation setting.'
  );
}

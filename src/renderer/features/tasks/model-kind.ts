// What the reader is told about a task's model kind (2D, 2.5D, 3D) and why it may be fixed.
import { MODEL_KIND_TEXT, type ModelKind, type Task } from '../../../shared/contract';

/**
 * Why the task's model kind can no longer change, in the reader's words, or null while it can
 * (before the task's first model version). Mirrors tasks.setModelKind, which also refuses while a
 * training run of the task is queued or running (that refusal comes back as its error).
 */
export function kindLockedReason(task: Pick<Task, 'modelKind' | 'versionCount'>): string | null {
  if (task.versionCount === 0) return null;
  const kind = MODEL_KIND_TEXT[task.modelKind].name;
  const versions = task.versionCount === 1 ? 'a model version' : `${task.versionCount} model versions`;
  return (
    `This task has ${versions}: each fine-tune continues from the active ${kind} model, so the task stays ${kind}. ` +
    'To train another kind, create a new task with the same labels and choose the kind there.'
  );
}

/** The kind's short name: 2D, 2.5D or 3D. */
export function kindName(kind: ModelKind): string {
  return MODEL_KIND_TEXT[kind].name;
}

// `lgms task list|create|show` and the `--task NAME` option of train, segment and export: a task
// is named by its name (any case) or its id. `create` takes the labels in order, each picking
// its SNOMED CT codes from the shipped catalogue by name or getting a local code (issue 22).
import { MODEL_KINDS, type ModelKind, type Task } from '../../shared/contract/tasks';
import { unwrap } from '../../shared/contract/client';
import type { Backend } from '../backend';

/** The task named `name` (case-insensitive) or numbered `name`; throws an Error naming the tasks there are. */
export async function resolveTask(b: Backend, name: string): Promise<Task> {
  const tasks = unwrap(await b.api.tasks.list());
  const found =
    tasks.find((t) => t.name.toLowerCase() === name.trim().toLowerCase()) ??
    (/^\d+$/.test(name) ? tasks.find((t) => t.id === Number(name)) : undefined);
  if (!found) throw new Error(`no task "${name}"; there are: ${tasks.map((t) => `"${t.name}"`).join(', ') || 'none'}`);
  return found;
}

/** One task as lines for a terminal: name, applicability, labels (retired ones marked), model. */
export function formatTask(t: Task): string {
  const lines = [
    `${t.id}  ${t.name}`,
    `    applies to ${t.domain.modalities.join('/')} (${t.domain.photometric.join(', ')})${t.domain.bodyPart ? `, ${t.domain.bodyPart}` : ''}; ${t.modelKind}`,
    `    model: ${t.activeVersionId === null ? 'none yet (train the first model)' : `version ${t.activeVersionId} active`}, ${t.versionCount} version(s)`,
  ];
  for (const l of t.labels)
    lines.push(
      `    ${String(l.value).padStart(3)}  ${l.name.padEnd(24)} ${l.colour}  ${l.type.scheme} ${l.type.value} "${l.type.meaning}"${l.retiredAt ? `  (retired ${l.retiredAt})` : ''}`,
    );
  return lines.join('\n');
}

export interface CreateArgs {
  name: string;
  labels: string[];
  modalities: string[];
  photometric: string[];
  bodyPart: string;
  /** The kind of model the task trains (default 2d); undefined when `--kind` names none of MODEL_KINDS. */
  modelKind: ModelKind | undefined;
}

/** Parses `create NAME --labels a,b,c --modalities US[,CT] [--photometric MONOCHROME2,RGB] [--body-part TEXT] [--kind 2d|2.5d|3d]`. */
export function parseCreate(args: string[], take: (flag: string) => string | undefined): CreateArgs {
  const labels = (take('--labels') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const modalities = (take('--modalities') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const photometric = (take('--photometric') ?? 'MONOCHROME2,RGB')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const bodyPart = take('--body-part') ?? '';
  const kind = (take('--kind') ?? '2d').trim().toLowerCase();
  const modelKind = (MODEL_KINDS as readonly string[]).includes(kind) ? (kind as ModelKind) : undefined;
  const name = args.join(' ').trim();
  return { name, labels, modalities, photometric, bodyPart, modelKind };
}

export async function createTask(b: Backend, c: CreateArgs): Promise<Task> {
  return unwrap(
    await b.api.tasks.create({
      name: c.name,
      domain: { modalities: c.modalities, photometric: c.photometric as never, bodyPart: c.bodyPart },
      ...(c.modelKind ? { modelKind: c.modelKind } : {}),
      labels: c.labels.map((name) => ({ name })),
    }),
  );
}

// What a published version says about itself on the shared folder (publication.json, the
// contract's publicationSchema): its content hash and files, its task (UID, name, labels,
// domain), its lineage, its metrics and the publisher's gate verdicts.
import os from 'node:os';
import type { Publication, PublishedFile } from '../../shared/contract';
import type { GateResult } from '../../shared/contract/training';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { readTask } from '../tasks/queries';
import type { ModelRegistry } from './registry';

/**
 * The publication of local version `id` whose files hash to `hashed`. Throws
 * ServiceError('not-found') for an unknown version, 'conflict' when its task has no UID yet.
 */
export function publicationOf(
  db: Database,
  registry: ModelRegistry,
  id: number,
  hashed: { contentHash: string; files: PublishedFile[] },
  publishedBy: string,
): Publication {
  const version = registry.get(id);
  const task = readTask(db, version.taskId);
  const uid = db.prepare('SELECT uid FROM tasks WHERE id = ?').pluck().get(version.taskId) as string | null | undefined;
  if (!task || !uid) throw new ServiceError('conflict', `the task of ${version.manifest.name} has no identity to share it under`);
  const m = version.manifest;
  return {
    format: 'lgms-publication/1',
    contentHash: hashed.contentHash,
    files: hashed.files,
    modelId: m.id,
    name: m.name,
    version: m.version,
    task: {
      uid,
      name: task.name,
      domain: task.domain,
      labels: task.labels.filter((l) => l.retiredAt === null).map((l) => ({ value: l.value, name: l.name, type: l.type })),
    },
    lineage: [...registry.lineage(id)].map((v) => ({
      modelId: v.manifest.id,
      name: v.manifest.name,
      version: v.manifest.version,
    })),
    metrics: m.metrics,
    publisherGate: publisherGate(db, id),
    publishedBy,
    workstation: os.hostname(),
    publishedAt: new Date().toISOString(),
  };
}

/** The publisher's own gate verdicts (validation labels, reference set) where a gate ran there; null otherwise. */
function publisherGate(db: Database, id: number): Publication['publisherGate'] {
  const row = db.prepare('SELECT gate, reference_gate FROM model_version_training WHERE model_version_id = ?').get(id) as
    { gate: string | null; reference_gate: string | null } | undefined;
  if (!row || (row.gate === null && row.reference_gate === null)) return null;
  const gate = row.gate ? (JSON.parse(row.gate) as Partial<GateResult> & { kind?: string }) : null;
  const ref = row.reference_gate ? (JSON.parse(row.reference_gate) as Partial<GateResult>) : null;
  return {
    validation: gate ? (gate.kind === 'first-model' ? 'first model' : (gate.verdict ?? null)) : null,
    reference: ref?.verdict ?? null,
    n: gate?.n ?? null,
  };
}

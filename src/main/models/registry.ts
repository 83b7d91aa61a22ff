// The model registry: every version (the shipped starter and each fine-tuned candidate) is a
// row pointing at its folder; exactly one is active. Earlier versions are kept for roll-back.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { learningCurveSchema, type Events, type LearningCurve, type ModelsService, type ModelVersionInfo, type ModelStatus } from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import type { ModelManifest } from '../../shared/model/manifest';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { readModelPackage, type ModelPackage } from './package';
import { copyModelFolder } from './transfer';

interface Row {
  id: number;
  model_id: string;
  name: string;
  version: string;
  parent_id: string | null;
  dir: string;
  manifest: string;
  status: ModelStatus;
  builtin: number;
  created_at: string;
}

export class ModelRegistry implements ModelsService {
  private readonly listeners = new Set<(version: Row) => Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly dataDir: string,
    private readonly events: Emitter<Events>,
  ) {}

  /** Registers the models shipped in resources/models; activates one if none is active. */
  registerBuiltins(modelsDir: string): string[] {
    const problems: string[] = [];
    if (!existsSync(modelsDir)) return problems;
    for (const name of readdirSync(modelsDir).sort()) {
      const dir = path.join(modelsDir, name);
      if (!existsSync(path.join(dir, 'model.json'))) continue;
      try {
        this.upsert(readModelPackage(dir), true);
      } catch (e) {
        problems.push(`${dir}: ${(e as Error).message}`);
      }
    }
    if (!this.activeRow()) {
      const newest = this.db.prepare('SELECT id FROM model_versions ORDER BY builtin DESC, created_at DESC LIMIT 1').pluck().get() as number | undefined;
      if (newest !== undefined) this.db.prepare("UPDATE model_versions SET status = 'active' WHERE id = ?").run(newest);
    }
    return problems;
  }

  /** Adds (or refreshes) a version from its folder; new versions start as candidates. */
  upsert(pkg: ModelPackage, builtin = false): number {
    const m = pkg.manifest;
    const dir = builtin ? pkg.dir : path.relative(this.dataDir, pkg.dir);
    return (
      this.db
        .prepare(
          `INSERT INTO model_versions (model_id, name, version, parent_id, dir, manifest, status, builtin)
           VALUES (?, ?, ?, ?, ?, ?, 'candidate', ?)
           ON CONFLICT (model_id) DO UPDATE SET dir = excluded.dir, manifest = excluded.manifest, name = excluded.name
           RETURNING id`,
        )
        .get(m.id, m.name, m.version, m.parent, dir, JSON.stringify(m), builtin ? 1 : 0) as { id: number }
    ).id;
  }

  async list(): Promise<ModelVersionInfo[]> {
    return (this.db.prepare('SELECT * FROM model_versions ORDER BY created_at DESC, id DESC').all() as Row[]).map(toInfo);
  }

  async activate({ id }: { id: number }): Promise<ModelVersionInfo> {
    const row = this.row(id);
    // The engine loads and probes the version first: a model that cannot run is never made active.
    for (const listener of this.listeners) await listener(row);
    this.db.transaction(() => {
      this.db.prepare("UPDATE model_versions SET status = 'archived' WHERE status = 'active'").run();
      this.db.prepare("UPDATE model_versions SET status = 'active' WHERE id = ?").run(id);
    })();
    this.events.emit('onDidChangeModels', { activeId: id });
    return toInfo(this.row(id));
  }

  async exportVersion({ id, folder }: { id: number; folder: string }): Promise<{ folder: string }> {
    return { folder: copyModelFolder(this.get(id).dir, folder).dir };
  }

  /** The folder is copied into the data folder's models/ first, so the source may go away. */
  async importVersion({ folder }: { folder: string }): Promise<ModelVersionInfo> {
    const source = readModelPackage(path.resolve(folder));
    const existing = this.db.prepare('SELECT id FROM model_versions WHERE model_id = ?').pluck().get(source.manifest.id) as number | undefined;
    if (existing !== undefined) throw new ServiceError('conflict', `model ${source.manifest.id} is already registered`);
    const id = this.upsert(copyModelFolder(source.dir, path.join(this.dataDir, 'models', source.manifest.id)));
    this.events.emit('onDidChangeModels', { activeId: this.activeRow()?.id ?? null });
    return toInfo(this.row(id));
  }

  async learningCurve({ id }: { id: number }): Promise<LearningCurve | null> {
    // A fine-tuned version ships none: the recipe's curve is its ancestor's (the starter's).
    for (const v of this.lineage(id)) {
      const file = path.join(v.dir, 'learning-curve.json');
      if (!existsSync(file)) continue;
      let parsed: ReturnType<typeof learningCurveSchema.safeParse>;
      try {
        parsed = learningCurveSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        throw new ServiceError('corrupt', `the learning curve of ${v.manifest.id} is not valid JSON`);
      }
      if (!parsed.success) throw new ServiceError('corrupt', `the learning curve of ${v.manifest.id} does not have the expected fields`);
      return parsed.data;
    }
    return null;
  }

  /** The version, then its parent, grandparent…: each manifest names its parent's model id. */
  *lineage(id: number): Generator<{ id: number; dir: string; manifest: ModelManifest }> {
    const byModelId = this.db.prepare('SELECT * FROM model_versions WHERE model_id = ?');
    for (let row: Row | undefined = this.row(id), hops = 0; row && hops < 100; hops++) {
      yield this.resolved(row);
      row = row.parent_id === null ? undefined : (byModelId.get(row.parent_id) as Row | undefined);
    }
  }

  /** Called before a version becomes active; throwing refuses the switch. */
  onWillActivate(listener: (version: { id: number; dir: string; manifest: ModelManifest }) => Promise<void>): void {
    this.listeners.add((row) => listener(this.resolved(row)));
  }

  active(): { id: number; dir: string; manifest: ModelManifest } | null {
    const row = this.activeRow();
    return row ? this.resolved(row) : null;
  }

  get(id: number): { id: number; dir: string; manifest: ModelManifest } {
    return this.resolved(this.row(id));
  }

  /**
   * The applicability a version is for: its own model.json `domain`, else its nearest ancestor's
   * (a version keeps its parent's domain, issue 21; versions stored before the training service
   * wrote it have none). Undefined when no version in the chain names one (every series matches).
   * With tasks (issue 22) this becomes the version's task's applicability.
   */
  domainOf(id: number): ModelManifest['domain'] {
    const byModelId = this.db.prepare('SELECT * FROM model_versions WHERE model_id = ?');
    for (let row: Row | undefined = this.row(id), hops = 0; row && hops < 100; hops++) {
      const domain = (JSON.parse(row.manifest) as ModelManifest).domain;
      if (domain) return domain;
      row = row.parent_id === null ? undefined : (byModelId.get(row.parent_id) as Row | undefined);
    }
    return undefined;
  }

  private resolved(row: Row) {
    const manifest = JSON.parse(row.manifest) as ModelManifest;
    // Automatic segmentation and the review queue read `manifest.domain`: an inherited one counts.
    const domain = manifest.domain ?? this.domainOf(row.id);
    return { id: row.id, dir: path.resolve(this.dataDir, row.dir), manifest: domain ? { ...manifest, domain } : manifest };
  }

  private activeRow(): Row | undefined {
    return this.db.prepare("SELECT * FROM model_versions WHERE status = 'active'").get() as Row | undefined;
  }

  private row(id: number): Row {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new ServiceError('not-found', `no model version ${id}`);
    return row;
  }
}

function toInfo(row: Row): ModelVersionInfo {
  const m = JSON.parse(row.manifest) as ModelManifest;
  return {
    id: row.id,
    modelId: row.model_id,
    name: row.name,
    version: row.version,
    parent: row.parent_id,
    status: row.status,
    builtin: row.builtin === 1,
    createdAt: row.created_at,
    inputSize: m.input.size,
    labels: m.output.labels,
    trainingData: m.training.data,
    metrics: m.metrics,
  };
}

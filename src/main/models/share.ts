// The `modelShare` service (issue 26): model versions shared between workstations through a
// plain shared folder (Settings → model share folder; an NFS or SMB mount is enough), no server.
// Layout: <share>/lgms-models/<model id>--<first 16 hex digits of the content hash>/ holding the
// version's files (transfer.ts PARTS) and publication.json (the contract's publicationSchema:
// content hash, file list, task, lineage, metrics, who published it).
// Publish stages the copy in a hidden folder beside it and renames it in, so a crash or a full
// disk leaves no half version visible (a hidden `.…staging-…` folder at most, never listed).
// Adopt copies the files into the data folder, hashing the copy (not the source, which may change
// under us); a missing file, a short file, a changed byte or a list that does not match its hash
// refuses the version in words, and nothing is registered. An adopted version is a candidate of
// the local task with the same UID (migration 0220); its gate (training/service.ts gateAdopted)
// runs at once, and promotion is refused until it has finished (assertGated).
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  publicationSchema,
  type AdoptedFrom,
  type Events,
  type ModelShareService,
  type Publication,
  type PublishedFile,
  type SharedVersion,
} from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { ServiceError } from '../../shared/result';
import { isProcessAlive } from '../process-alive';
import type { Database } from '../db/database';
import { contentHash, hashFile, hashVersion } from './content-hash';
import { readModelPackage } from './package';
import type { ModelRegistry } from './registry';
import { publicationOf } from './publication';

/** Another workstation's staging folder on the share is removed after a day untouched. */
const STALE_STAGING_MS = 24 * 3600 * 1000;

/** The folder under the share that holds published versions. */
export const SHARE_SUBFOLDER = 'lgms-models';

export interface ModelShareOptions {
  db: Database;
  dataDir: string;
  registry: ModelRegistry;
  events: Emitter<Events>;
  /** Settings → model share folder ('' = none). */
  folder: () => string;
  /** Who publishes (Settings → user name, else the account). */
  identity: () => string;
  /** Runs the local gate of an adopted version (TrainingMainService.gateAdopted); never rejects for a gate failure. */
  gate: (versionId: number, taskId: number, from: AdoptedFrom) => Promise<unknown>;
}

interface Entry {
  dir: string;
  publication: Publication;
}

export class ModelShareMainService implements ModelShareService {
  private readonly gates = new Map<number, Promise<void>>();
  /** Set by close(): a gate that ends now writes nothing (the database closes). */
  private closed = false;

  constructor(private readonly o: ModelShareOptions) {}

  /**
   * At start: adoptions whose gate had not finished when the app stopped are gated again, and
   * staging folders a killed publish or adoption left behind are removed (`sweepStaging`).
   */
  recover(): void {
    this.sweepStaging();
    const pending = this.o.db
      .prepare(
        `SELECT s.model_version_id AS id, v.task_id AS taskId FROM model_version_shares s
         JOIN model_versions v ON v.id = s.model_version_id WHERE s.gate_pending = 1`,
      )
      .all() as { id: number; taskId: number }[];
    for (const p of pending) {
      const from = this.o.db
        .prepare('SELECT adopted_from FROM training_runs WHERE candidate_version_id = ? AND adopted_from IS NOT NULL')
        .pluck()
        .get(p.id) as string | undefined;
      const hash = this.o.db
        .prepare('SELECT content_hash FROM model_version_shares WHERE model_version_id = ?')
        .pluck()
        .get(p.id);
      const adopted: AdoptedFrom = from
        ? (JSON.parse(from) as AdoptedFrom)
        : { contentHash: hash as string, publishedBy: 'unknown', workstation: 'unknown', publishedAt: '' };
      this.startGate(p.id, p.taskId, adopted);
    }
  }

  /**
   * Removes the hidden staging folders of publishes and adoptions whose process died (kill -9,
   * power loss): in the data folder's models/ (`.adopt-<pid>-…`) and on the share
   * (`.<version>.staging-<host>-<pid>-…`) when that process is not running; another
   * workstation's staging folder on the share only when untouched for a day (its process cannot
   * be asked; a copy takes seconds to minutes). An unreachable share is left for the next start.
   */
  sweepStaging(now = Date.now()): string[] {
    const removed: string[] = [];
    const sweep = (dir: string, dead: (name: string, mtimeMs: number) => boolean) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return; // no such folder, or the share is not mounted
      }
      for (const name of names) {
        const full = path.join(dir, name);
        try {
          if (!dead(name, statSync(full).mtimeMs)) continue;
          rmSync(full, { recursive: true, force: true });
          removed.push(full);
        } catch {
          // gone meanwhile, or not ours to remove: the next start tries again
        }
      }
    };
    sweep(path.join(this.o.dataDir, 'models'), (name) => {
      const m = /^\.adopt-(\d+)-[0-9a-f]+$/.exec(name);
      return m !== null && !isProcessAlive(Number(m[1]));
    });
    const folder = this.o.folder();
    if (folder)
      sweep(path.join(folder, SHARE_SUBFOLDER), (name, mtimeMs) => {
        const m = /^\..+\.staging-(.+)-(\d+)-[0-9a-f]{8}$/.exec(name);
        if (!m) return false;
        if (m[1] === os.hostname()) return !isProcessAlive(Number(m[2]));
        return now - mtimeMs > STALE_STAGING_MS;
      });
    return removed;
  }

  async list(input?: { taskId?: number | undefined }): Promise<SharedVersion[]> {
    const out: SharedVersion[] = [];
    for (const e of this.entries()) {
      const v = await this.describe(e);
      if (v.localTaskId === null || (input?.taskId !== undefined && v.localTaskId !== input.taskId)) continue;
      out.push(v);
    }
    return out.sort((a, b) => b.publishedAt.localeCompare(a.publishedAt) || a.modelId.localeCompare(b.modelId));
  }

  /**
   * Publishes a local version: its files are hashed, copied into a hidden staging folder on the
   * share, hashed again there, described in publication.json and renamed in. The same content
   * published twice is one folder. Throws ServiceError: 'unavailable' (no share set), 'io' (the
   * share refused), 'not-found' (no such version), 'corrupt' (the copy on the share differs).
   */
  async publish({ id }: { id: number }): Promise<SharedVersion> {
    const root = this.root(true);
    const version = this.o.registry.get(id);
    const { contentHash: hash, files } = await hashVersion(version.dir);
    const publication = publicationOf(this.o.db, this.o.registry, id, { contentHash: hash, files }, this.o.identity());
    const dest = path.join(root, `${version.manifest.id}--${hash.slice(0, 16)}`);
    if (!existsSync(dest)) {
      const staging = path.join(
        root,
        `.${path.basename(dest)}.staging-${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
      );
      try {
        copyVerified(version.dir, staging, files);
        writeFileSync(path.join(staging, 'publication.json'), `${JSON.stringify(publication, null, 2)}\n`);
        if (!existsSync(dest)) renameSync(staging, dest); // another workstation may have published the same content meanwhile
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        throw new ServiceError('io', `The version could not be written to the shared folder ${root}: ${(e as Error).message}`);
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    }
    this.o.db
      .prepare('INSERT OR IGNORE INTO model_version_shares (model_version_id, content_hash, adopted) VALUES (?, ?, 0)')
      .run(id, hash);
    const entry = this.read(dest);
    if (!entry || entry.publication.contentHash !== hash)
      throw new ServiceError('conflict', `${dest} on the shared folder holds another version; it was left as it is.`);
    return this.describe(entry);
  }

  /**
   * Adopts the shared version with this content hash into the local task with the same UID: copied
   * in and verified file by file (size and SHA-256) and as a whole (the content hash), registered as
   * a candidate, its gate started. Throws ServiceError: 'not-found' (not on the share), 'conflict'
   * (no such task here, already here, or the task's labels differ here), 'corrupt' (a damaged or partial copy: the message says
   * which file and how), 'io'.
   */
  async adopt({ contentHash: hash }: { contentHash: string }): Promise<SharedVersion> {
    const entry = this.entries().find((e) => e.publication.contentHash === hash);
    if (!entry) throw new ServiceError('not-found', 'This version is no longer in the shared folder.');
    const seen = await this.describe(entry);
    const p = entry.publication;
    if (seen.localTaskId === null)
      throw new ServiceError(
        'conflict',
        `${p.name} ${p.version} is for the task "${p.task.name}", which this workstation does not have.`,
      );
    if (seen.here) throw new ServiceError('conflict', `${p.name} ${p.version} is already on this workstation.`);
    this.assertSameLabels(p, seen.localTaskId);
    const modelsDir = path.join(this.o.dataDir, 'models');
    mkdirSync(modelsDir, { recursive: true });
    const staging = path.join(modelsDir, `.adopt-${process.pid}-${randomBytes(6).toString('hex')}`);
    let versionId: number;
    try {
      try {
        verifyList(p);
        copyVerified(entry.dir, staging, p.files);
        await rehash(staging, p.files);
      } catch (e) {
        if (!(e instanceof Damage)) throw e;
        throw new ServiceError(
          'corrupt',
          `The shared copy of ${p.name} ${p.version} (published by ${p.publishedBy}) was not adopted: ${e.message}. ` +
            'Nothing was changed on this workstation; ask for the version to be published again.',
        );
      }
      const localId = this.localModelId(staging, p);
      const dest = path.join(modelsDir, localId);
      if (existsSync(dest)) throw new ServiceError('conflict', `${dest} already exists; it was left as it is.`);
      readModelPackage(staging); // a whole model folder before it gets its name
      renameSync(staging, dest);
      try {
        versionId = this.o.db.transaction(() => {
          const vid = this.o.registry.upsert(readModelPackage(dest), false, seen.localTaskId!);
          this.o.db
            .prepare(
              'INSERT INTO model_version_shares (model_version_id, content_hash, adopted, gate_pending) VALUES (?, ?, 1, 1)',
            )
            .run(vid, hash);
          return vid;
        })();
      } catch (e) {
        rmSync(dest, { recursive: true, force: true }); // nothing registered: no folder left either
        throw e;
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    this.o.events.emit('onDidChangeModels', { activeId: this.o.registry.active(seen.localTaskId)?.id ?? null });
    this.startGate(versionId, seen.localTaskId, {
      contentHash: hash,
      publishedBy: p.publishedBy,
      workstation: p.workstation,
      publishedAt: p.publishedAt,
    });
    return this.describe(entry);
  }

  /**
   * The version paints its task's label values as the publisher's task had them: this workstation's
   * task must use the same values (a label added or retired on one side only would give pixels a
   * meaning here they did not have there). Throws ServiceError('conflict') naming both lists.
   */
  private assertSameLabels(p: Publication, taskId: number): void {
    const local = this.o.db
      .prepare('SELECT value, name FROM task_labels WHERE task_id = ? AND retired_at IS NULL ORDER BY value')
      .all(taskId) as { value: number; name: string }[];
    const theirs = [...p.task.labels].sort((x, y) => x.value - y.value);
    if (local.length === theirs.length && local.every((l, i) => l.value === theirs[i]!.value)) return;
    const words = (ls: readonly { value: number; name: string }[]) => ls.map((l) => `${l.value} ${l.name}`).join(', ');
    throw new ServiceError(
      'conflict',
      `${p.name} ${p.version} was made for the labels ${words(theirs)} of "${p.task.name}" on ${p.workstation}; ` +
        `this workstation's task has ${words(local)}. Make the task's labels agree before adopting it.`,
    );
  }

  /** Resolves when the gate of an adopted version has finished (at once when none is running). */
  waitForGate(versionId: number): Promise<void> {
    return this.gates.get(versionId) ?? Promise.resolve();
  }

  /** Throws ServiceError('conflict') while the gate of an adopted version has not finished (registry.onWillActivate). */
  assertGated(versionId: number): void {
    const pending = this.o.db
      .prepare('SELECT gate_pending FROM model_version_shares WHERE model_version_id = ?')
      .pluck()
      .get(versionId) as number | undefined;
    if (pending !== 1) return;
    const v = this.o.registry.get(versionId).manifest;
    throw new ServiceError(
      'conflict',
      `${v.name} ${v.version} came from the shared folder and is still being compared with this workstation's active version ` +
        "on this workstation's own validation labels; it can be promoted once that comparison has finished.",
    );
  }

  /**
   * The app quits: a gate of an adopted version still running is not waited for. It stops at its
   * next database access and writes nothing more; its version keeps `gate_pending`, so the next
   * start gates it again (recover()) and it cannot be promoted before that.
   */
  close(): void {
    this.closed = true;
  }

  private startGate(versionId: number, taskId: number, from: AdoptedFrom): void {
    const done = this.o
      .gate(versionId, taskId, from)
      .catch((e: unknown) => {
        if (!this.closed) console.error(`[models] the gate of adopted version ${versionId} failed: ${(e as Error).message}`);
      })
      .then(() => {
        if (this.closed) return;
        this.o.db.prepare('UPDATE model_version_shares SET gate_pending = 0 WHERE model_version_id = ?').run(versionId);
        this.gates.delete(versionId);
        this.o.events.emit('onDidChangeModels', { activeId: this.o.registry.active(taskId)?.id ?? null });
      });
    this.gates.set(versionId, done);
  }

  /**
   * The local model id of an adopted copy: its own, unless a local version of other content has it
   * (two workstations both name their first fine-tune `…-ft1`): then `<id>-<8 hex of the hash>`,
   * written into the copy's model.json (the published hash stays the version's identity).
   */
  private localModelId(staging: string, p: Publication): string {
    const taken = this.o.db.prepare('SELECT 1 FROM model_versions WHERE model_id = ?');
    if (!taken.get(p.modelId)) return p.modelId;
    const id = `${p.modelId}-${p.contentHash.slice(0, 8)}`;
    if (taken.get(id)) throw new ServiceError('conflict', `a version named ${id} is already registered here`);
    const file = path.join(staging, 'model.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    writeFileSync(file, `${JSON.stringify({ ...raw, id }, null, 2)}\n`);
    return id;
  }

  /** The share's folder of versions; null (or 'unavailable' when `required`) without a setting. */
  private root(required: true): string;
  private root(required: false): string | null;
  private root(required: boolean): string | null {
    const folder = this.o.folder().trim();
    if (!folder) {
      if (!required) return null;
      throw new ServiceError('unavailable', 'No shared folder for models is set: choose one in Settings first.');
    }
    if (!existsSync(folder) || !statSync(folder).isDirectory())
      throw new ServiceError('io', `The shared folder ${folder} cannot be reached: is the network share mounted?`);
    const root = path.join(folder, SHARE_SUBFOLDER);
    try {
      mkdirSync(root, { recursive: true });
    } catch (e) {
      throw new ServiceError('io', `The shared folder ${folder} refused a new folder: ${(e as Error).message}`);
    }
    return root;
  }

  /** Every published folder whose publication.json reads (staging folders and unreadable ones left out). */
  private entries(): Entry[] {
    const root = this.root(false);
    if (!root) return [];
    return readdirSync(root)
      .filter((n) => !n.startsWith('.'))
      .map((n) => this.read(path.join(root, n)))
      .filter((e): e is Entry => e !== null);
  }

  private read(dir: string): Entry | null {
    try {
      const parsed = publicationSchema.safeParse(JSON.parse(readFileSync(path.join(dir, 'publication.json'), 'utf8')));
      return parsed.success ? { dir, publication: parsed.data } : null;
    } catch {
      return null;
    }
  }

  /** A shared version as this workstation sees it: its local task, whether it is here, whether it looks whole. */
  private async describe(e: Entry): Promise<SharedVersion> {
    const p = e.publication;
    const localTaskId =
      (this.o.db.prepare('SELECT id FROM tasks WHERE uid = ?').pluck().get(p.task.uid) as number | undefined) ?? null;
    return {
      contentHash: p.contentHash,
      folder: e.dir,
      modelId: p.modelId,
      name: p.name,
      version: p.version,
      taskName: p.task.name,
      localTaskId,
      lineage: p.lineage,
      metrics: p.metrics,
      publisherGate: p.publisherGate,
      publishedBy: p.publishedBy,
      workstation: p.workstation,
      publishedAt: p.publishedAt,
      here: localTaskId === null ? null : await this.here(p),
      damaged: looksDamaged(e),
    };
  }

  /**
   * The local version with this content: one recorded as published or adopted with its hash, else
   * a version of the same model id whose files hash the same (e.g. the starter shipped to both).
   */
  private async here(p: Publication): Promise<SharedVersion['here']> {
    const row = (hash: string) =>
      this.o.db
        .prepare(
          `SELECT v.id, v.status, s.gate_pending FROM model_version_shares s JOIN model_versions v ON v.id = s.model_version_id
           WHERE s.content_hash = ? ORDER BY v.id LIMIT 1`,
        )
        .get(hash) as { id: number; status: 'active' | 'candidate' | 'archived'; gate_pending: number } | undefined;
    let found = row(p.contentHash);
    if (!found) {
      const same = this.o.db.prepare('SELECT id FROM model_versions WHERE model_id = ?').pluck().get(p.modelId) as
        number | undefined;
      if (same !== undefined && !this.o.db.prepare('SELECT 1 FROM model_version_shares WHERE model_version_id = ?').get(same)) {
        const local = await hashVersion(this.o.registry.get(same).dir);
        this.o.db
          .prepare('INSERT OR IGNORE INTO model_version_shares (model_version_id, content_hash, adopted) VALUES (?, ?, 0)')
          .run(same, local.contentHash);
        found = row(p.contentHash);
      }
    }
    return found ? { versionId: found.id, status: found.status, gatePending: found.gate_pending === 1 } : null;
  }
}

/** A reason a version cannot be adopted, in words (wrapped into the refusal by adopt). */
class Damage extends Error {}

/** The file list must give the content hash it is published under. */
function verifyList(p: Publication): void {
  if (contentHash(p.files) !== p.contentHash)
    throw new Damage('its list of files does not match its content hash, so the publication itself was changed');
  if (!p.files.some((f) => f.path === 'model.json')) throw new Damage('it has no model.json');
}

/** Copies `files` from `from` to `to`, refusing a missing or short file before copying it. */
function copyVerified(from: string, to: string, files: readonly PublishedFile[]): void {
  for (const f of files) {
    const src = path.join(from, ...f.path.split('/'));
    const st = statSync(src, { throwIfNoEntry: false });
    if (!st?.isFile()) throw new Damage(`${f.path} is missing from the shared copy`);
    if (st.size !== f.size)
      throw new Damage(
        `${f.path} is ${st.size < f.size ? 'incomplete' : 'longer than published'} (${st.size.toLocaleString('en')} of ${f.size.toLocaleString('en')} bytes)` +
          (st.size < f.size ? ', as after an interrupted copy' : ''),
      );
    const dest = path.join(to, ...f.path.split('/'));
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(src, dest);
  }
}

/** Hashes the local copy: every file must be byte for byte the one published. */
async function rehash(dir: string, files: readonly PublishedFile[]): Promise<void> {
  for (const f of files) {
    const got = await hashFile(path.join(dir, ...f.path.split('/')));
    if (got.size !== f.size) throw new Damage(`${f.path} changed size while it was copied`);
    if (got.sha256 !== f.sha256)
      throw new Damage(
        `${f.path} is not the file that was published: its contents changed after publishing (its checksum differs)`,
      );
  }
}

/** A cheap look at a shared copy (no hashing): a file missing or of another size, or a folder named for another hash. */
function looksDamaged(e: Entry): string | null {
  const p = e.publication;
  if (!path.basename(e.dir).endsWith(`--${p.contentHash.slice(0, 16)}`)) return 'its folder name does not match its content hash';
  for (const f of p.files) {
    const st = statSync(path.join(e.dir, ...f.path.split('/')), { throwIfNoEntry: false });
    if (!st?.isFile()) return `${f.path} is missing`;
    if (st.size !== f.size)
      return `${f.path} is incomplete (${st.size.toLocaleString('en')} of ${f.size.toLocaleString('en')} bytes)`;
  }
  return null;
}

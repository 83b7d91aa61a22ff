// The training service with the real trainer (Python + PyTorch), the shipped starter model and
// generated shifted-domain DICOM studies labelled with their ground truth: staging equals the
// inference input, a run registers a candidate with its parent and exact labels, cancel stops
// the trainer by its PID, and kill -9 of the trainer or of the backend leaves the database
// intact, the active model unchanged, the run interrupted and no files behind.
import BetterSqlite3 from 'better-sqlite3';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { readModelPackage } from '../../src/main/models/package';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import { stagedInput, stageLabels, modelInputSpec } from '../../src/main/training/stage';
import { trainerEventSchema, type TrainingRun } from '../../src/shared/contract/training';
import { assertBuilt, ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { importLabelledStudies } from '../helpers/training-data';
import { skipTitle } from '../helpers/skip';
import { unhandledDuring } from '../helpers/unhandled';

const trainer = await probeTrainer(pythonCandidates(''));

const referenceDir = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'reference');

/** Per-image Dice of the trainer's `evaluate` (PyTorch) of a model package on an images/ + masks/ folder. */
function evaluate(model: string, data: string): { name: string; dice: number }[] {
  const out = execFileSync(
    trainer.python!,
    ['-m', 'lgms_trainer', 'evaluate', '--model', model, '--data', data, '--threads', '2'],
    {
      cwd: path.join(ROOT, 'resources', 'trainer'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const last = JSON.parse(out.trim().split('\n').at(-1)!) as { images: { name: string; dice: number }[] };
  return last.images.map((i) => ({ name: i.name, dice: i.dice })).sort((a, b) => a.name.localeCompare(b.name));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Resolves at the next training step `b` reports (the trainer is running then). */
const firstStep = (b: Backend) =>
  new Promise<void>((resolve) => {
    const off = b.events.on('onDidTrainStep', () => {
      off();
      resolve();
    });
  });

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe.skipIf(!trainer.available)(
  skipTitle(
    `training service${trainer.available ? ` (${trainer.python})` : ''}`,
    trainer.available ? '' : `no Python with torch: ${trainer.reason}`,
  ),
  () => {
    const tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    let b: Backend;
    beforeAll(async () => {
      process.env.OMP_NUM_THREADS = '2';
      b = createBackend({ dataDir, transport: 'http', inference: false });
      await importLabelledStudies(b, tmp.dir, {
        patients: 3,
        imagesPerSeries: 3,
        seed: 404,
        domain: 'shifted',
        validationPatients: 1,
      });
    }, 120_000);
    afterAll(() => {
      b?.close();
      tmp.cleanup();
    });

    it('stages each label as the inference worker feeds the model, and the trainer reads it unchanged', async () => {
      const active = b.registry.active()!;
      const dir = path.join(tmp.dir, 'staged');
      const staged = await stageLabels(b.db, b.frames, active.manifest, dir);
      expect(staged.training).toHaveLength(6);
      expect(staged.validation).toHaveLength(3);
      const first = staged.training[0]!;
      const expected = await stagedInput(b.frames, first.imageId, modelInputSpec(active.manifest));
      // The trainer's loader (float16 in memory) on the staged folder.
      const script = [
        'import sys, json, numpy as np',
        'sys.path.insert(0, sys.argv[1])',
        'from lgms_trainer.data import list_pairs, load_set',
        'spec = {"size": (128, 128), "channelMode": "replicate", "normalization": {"type": "scale", "min": 0, "max": 255}}',
        'x, y = load_set(list_pairs(sys.argv[2]), spec, 3)',
        'print(json.dumps({"shape": list(x.shape), "first": x[0, 0].float().flatten().tolist(), "fg": int(y[0].sum())}))',
      ].join('\n');
      const out = JSON.parse(
        execFileSync(trainer.python!, ['-c', script, path.join(ROOT, 'resources', 'trainer'), path.join(dir, 'training')], {
          encoding: 'utf8',
        }),
      ) as {
        shape: number[];
        first: number[];
        fg: number;
      };
      expect(out.shape).toEqual([6, 1, 128, 128]);
      let worst = 0;
      for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i]! - out.first[i]!));
      expect(worst).toBeLessThan(5e-4); // float16 storage of values in [0, 1]
      expect(out.fg).toBeGreaterThan(0);
    });

    it('runs to completion: a candidate with its parent, the exact labels, hyper-parameters and versions', async () => {
      const steps: unknown[] = [];
      const off = b.events.on('onDidTrainStep', (e) => steps.push(e));
      const activeBefore = b.registry.active()!.id;
      const run = await b.services.training.start({ maxSteps: 2 });
      expect(run.status).toBe('queued');
      const done = await b.training.waitFor(run.id);
      off();
      expect(done.error).toBeNull();
      expect(done.status).toBe('done');
      expect(steps).toHaveLength(2);
      for (const s of steps) {
        const { runId, ...event } = s as { runId: number };
        expect(runId).toBe(run.id);
        expect(trainerEventSchema.safeParse(event).success).toBe(true);
      }
      expect(done.curve.filter((p) => p.kind === 'step')).toHaveLength(2);
      expect(done.curve.some((p) => p.kind === 'validation')).toBe(true);
      expect([done.trainingLabels, done.validationLabels]).toEqual([6, 3]);
      const versions = await b.services.models.list();
      const candidate = versions.find((v) => v.id === done.candidateVersionId)!;
      expect(candidate.status).toBe('candidate');
      expect(candidate.parent).toBe('lgmsnet-starter');
      const record = b.db.prepare('SELECT * FROM model_version_training WHERE model_version_id = ?').get(candidate.id) as Record<
        string,
        string
      >;
      expect(JSON.parse(record.hyperparameters!)).toMatchObject({
        maxSteps: 2,
        batchSize: 8,
        replayFraction: 0.25,
        anchor: 0.3,
        freezeNorm: false,
      });
      expect(record.torch_version).toMatch(/^\d+\.\d+/);
      expect(record.trainer_version).toMatch(/^\d+\.\d+/);
      const labelIds = b.db
        .prepare('SELECT label_id FROM training_run_labels WHERE run_id = ? ORDER BY label_id')
        .pluck()
        .all(run.id);
      expect(labelIds).toEqual(b.db.prepare('SELECT id FROM labels ORDER BY id').pluck().all());
      // Committed whole: no temporary names, no staging left; the active model did not change.
      const dir = b.registry.get(candidate.id).dir;
      expect(readdirSync(dir).sort()).toEqual(['model.json', 'model.onnx', 'split.json', 'weights.pt']);
      expect(filesUnder(path.join(dataDir, 'training', 'staging'))).toEqual([]);
      expect(b.registry.active()!.id).toBe(activeBefore);
      // The gate: candidate and parent through the inference worker on the 3 frozen validation images.
      const gate = done.gate!;
      expect(done.gateError).toBeNull();
      expect(gate.n).toBe(3);
      const validationIds = b.db
        .prepare("SELECT label_id FROM training_run_labels WHERE run_id = ? AND split = 'validation' ORDER BY label_id")
        .pluck()
        .all(run.id);
      expect(gate.cases.map((c) => c.labelId)).toEqual(validationIds);
      for (const c of gate.cases) {
        expect(c.parentDice).toBeGreaterThan(0.3); // the starter on shifted images: ~0.73 on average
        expect(c.candidateDice).toBeGreaterThanOrEqual(0);
      }
      expect(gate.ci95[0]).toBeLessThanOrEqual(gate.meanDifference);
      expect(gate.ci95[1]).toBeGreaterThanOrEqual(gate.meanDifference);
      // Three drawn labels are independent of the parent, but too few for a verdict (issue 21).
      expect(gate.independent).toBe(3);
      expect(gate.verdict).toBe('too-few');
      expect(gate.domain).toBe('US Demo breast US (shifted domain) × 3');
      expect(b.db.prepare('SELECT count(*) FROM predictions WHERE model_version_id = ?').pluck().get(candidate.id)).toBe(3);

      // The reference gate: both versions on the starter's shipped reference set (32 base-domain images).
      const ref = done.referenceGate!;
      expect(ref.set).toBe('reference');
      expect(ref.n).toBe(32);
      expect(ref.cases.map((c) => c.name)).toEqual(readdirSync(path.join(referenceDir, 'images')).sort());
      expect(ref.cases.every((c) => c.labelId === 0 && c.imageId === 0)).toBe(true);
      // Independent computation: the trainer's own evaluation (PyTorch, its copy of the
      // preprocessing, no clean-up) of the parent on the same files agrees case by case.
      const evaluated = evaluate(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter'), referenceDir);
      expect(evaluated.map((e) => e.name)).toEqual(ref.cases.map((c) => c.name));
      for (const [i, c] of ref.cases.entries()) expect(Math.abs(c.parentDice - evaluated[i]!.dice)).toBeLessThan(0.02);
      expect(Math.abs(ref.meanParent - mean(evaluated.map((e) => e.dice)))).toBeLessThan(0.005);
      expect(ref.meanParent).toBeGreaterThan(0.9); // the starter on its own domain (model card: 0.94)
      // A 2-step run barely moves the weights: no forgetting to see, and nothing stored is made up.
      expect(Math.abs(ref.meanDifference)).toBeLessThan(0.05);
      const stored = b.db
        .prepare('SELECT reference_gate FROM model_version_training WHERE model_version_id = ?')
        .pluck()
        .get(candidate.id);
      expect(JSON.parse(stored as string)).toEqual(ref);
    }, 300_000);

    it("the reference gate shows forgetting: a deliberately damaged candidate scores lower on the parent's own domain", async () => {
      // Two plain AdamW steps at lr 0.05 on the shifted images wreck the starter's weights.
      const parent = b.registry.active()!;
      const out = path.join(tmp.dir, 'damaged');
      const staged = path.join(tmp.dir, 'staged-damaged');
      await stageLabels(b.db, b.frames, parent.manifest, staged);
      execFileSync(
        trainer.python!,
        [
          '-m',
          'lgms_trainer',
          'train',
          '--data',
          path.join(staged, 'training'),
          '--val-data',
          path.join(staged, 'validation'),
          '--init',
          parent.dir,
          '--out',
          out,
          '--max-steps',
          '2',
          '--optimizer',
          'adamw',
          '--lr',
          '0.05',
          '--id',
          'damaged',
          '--threads',
          '2',
        ],
        { cwd: path.join(ROOT, 'resources', 'trainer'), stdio: ['ignore', 'ignore', 'ignore'] },
      );
      const versionId = b.registry.upsert(readModelPackage(out));
      const runId = b.db
        .prepare(
          "INSERT INTO training_runs (status, parent_version_id, candidate_version_id, hyperparameters, out_dir) VALUES ('done', ?, ?, '{}', 'x')",
        )
        .run(parent.id, versionId).lastInsertRowid;
      b.db
        .prepare(
          "INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics) VALUES (?, ?, ?, '{}', '0', '0', '{}')",
        )
        .run(versionId, runId, parent.id);
      const ref = (await b.training.referenceGate(versionId))!;
      expect(ref.n).toBe(32);
      expect(ref.meanParent).toBeGreaterThan(0.9);
      expect(ref.meanCandidate).toBeLessThan(ref.meanParent - 0.1);
      expect(ref.ci95[1]).toBeLessThan(0);
      expect(ref.verdict).toBe('worse');
      // The candidate's own number agrees with the trainer's evaluation of the damaged weights.
      const evaluated = evaluate(out, referenceDir);
      expect(Math.abs(ref.meanCandidate - mean(evaluated.map((e) => e.dice)))).toBeLessThan(0.03);
    }, 300_000);

    it('cancel stops the trainer by its PID and leaves nothing', async () => {
      const run = await b.services.training.start({ maxSteps: 1000 });
      await firstStep(b);
      const pid = b.training.trainerPid()!;
      await b.services.training.cancel({ id: run.id });
      const final = await b.training.waitFor(run.id);
      expect(final.status).toBe('cancelled');
      expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
    }, 300_000);

    it('kill -9 of the trainer mid-epoch: run interrupted, active model unchanged, no files, database intact', async () => {
      const activeBefore = b.registry.active()!.id;
      const versionsBefore = (await b.services.models.list()).length;
      const run = await b.services.training.start({ maxSteps: 1000 });
      await firstStep(b);
      process.kill(b.training.trainerPid()!, 'SIGKILL');
      const final = await b.training.waitFor(run.id);
      expect(final.status).toBe('interrupted');
      expect(final.error).toMatch(/SIGKILL/);
      expect(b.registry.active()!.id).toBe(activeBefore);
      expect((await b.services.models.list()).length).toBe(versionsBefore);
      expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
      expect(filesUnder(path.join(dataDir, 'training', 'staging'))).toEqual([]);
      expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok');
    }, 300_000);

    it('a command started on the same data folder while a run trains (lgms info) leaves the run, its trainer and its staging alone', async () => {
      assertBuilt();
      const run = await b.services.training.start({ maxSteps: 1000 });
      await firstStep(b);
      const pid = b.training.trainerPid()!;
      const staged = readdirSync(path.join(dataDir, 'training', 'staging'));
      expect(staged).toEqual([`run-${run.id}`]);
      await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'lgms.js'), 'info', '--data-dir', dataDir], {
        cwd: ROOT,
      });
      expect(() => process.kill(pid, 0)).not.toThrow(); // not killed as an orphan
      expect((await b.services.training.list()).find((r) => r.id === run.id)!.status).toBe('running');
      expect(readdirSync(path.join(dataDir, 'training', 'staging'))).toEqual(staged);
      await b.services.training.cancel({ id: run.id });
      expect((await b.training.waitFor(run.id)).status).toBe('cancelled');
    }, 300_000);

    it('quitting mid-run (close): the trainer stops, nothing writes to the closed database, the next start marks the run interrupted', async () => {
      const run = await b.services.training.start({ maxSteps: 1000 });
      await firstStep(b);
      const pid = b.training.trainerPid()!;
      // The trainer's exit (and its last step lines) come after the database has closed.
      const errors = await unhandledDuring(() => b.close(), 5000);
      expect(errors).toEqual([]);
      expect(() => process.kill(pid, 0)).toThrow();
      b = createBackend({ dataDir, transport: 'http', inference: false });
      const again = (await b.services.training.list()).find((r) => r.id === run.id)!;
      expect([again.status, again.error]).toEqual(['interrupted', 'The app stopped while this run was training.']);
      expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
      expect(filesUnder(path.join(dataDir, 'training', 'staging'))).toEqual([]);
    }, 300_000);

    it('quitting during the gate: nothing writes to the closed database, and the next start keeps the registered candidate, its run done without a gate', async () => {
      let quit: Promise<string[]> | undefined;
      // The run is announced once more with its candidate registered, just before the gate starts.
      const off = b.events.on('onDidChangeTrainingRun', (r) => {
        if (!quit && r.status === 'running' && r.candidateVersionId !== null) quit = unhandledDuring(() => b.close(), 3000);
      });
      const run = await b.services.training.start({ maxSteps: 2 });
      await expect.poll(() => quit !== undefined, { timeout: 240_000, interval: 50 }).toBe(true);
      expect(await quit).toEqual([]);
      off();
      b = createBackend({ dataDir, transport: 'http', inference: false });
      const again = (await b.services.training.list()).find((r) => r.id === run.id)!;
      expect([again.status, again.gate]).toEqual(['done', null]);
      const versions = await b.services.models.list();
      expect(versions.find((v) => v.id === again.candidateVersionId)?.status).toBe('candidate');
      expect(b.registry.active()!.manifest.id).toBe('lgmsnet-starter');
    }, 300_000);

    it('kill -9 of the backend mid-run: the next start marks the run interrupted, stops the orphan trainer, removes its files', async () => {
      b.close();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests', 'helpers', 'train-child.ts'), dataDir], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, OMP_NUM_THREADS: '2' },
      });
      const trainerPid = await new Promise<number>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const m = /step trainer=(\d+)/.exec(buf);
          if (m) resolve(Number(m[1]));
        });
        child.on('exit', (code) => reject(new Error(`child exited ${code} before a step: ${buf}`)));
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The database as the dead backend left it: a run still 'running'.
      const raw = new BetterSqlite3(path.join(dataDir, 'lgms.sqlite'));
      const left = raw.prepare("SELECT id FROM training_runs WHERE status = 'running'").pluck().all() as number[];
      raw.close();
      expect(left).toHaveLength(1);
      expect(
        existsSync(path.join(dataDir, 'training', `run-${left[0]}`)) ||
          filesUnder(path.join(dataDir, 'training', 'staging')).length > 0,
      ).toBe(true);

      b = createBackend({ dataDir, transport: 'http', inference: false });
      const runs: TrainingRun[] = await b.services.training.list();
      const run = runs.find((r) => r.id === left[0])!;
      expect(run.status).toBe('interrupted');
      expect(b.registry.active()!.manifest.id).toBe('lgmsnet-starter');
      expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok');
      await expect
        .poll(
          () => {
            try {
              process.kill(trainerPid, 0);
              return 'alive';
            } catch {
              return 'gone';
            }
          },
          { timeout: 10_000 },
        )
        .toBe('gone');
      expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
      expect(filesUnder(path.join(dataDir, 'training', 'staging'))).toEqual([]);
      expect(filesUnder(dataDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    }, 300_000);
  },
);

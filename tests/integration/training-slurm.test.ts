// Training on the cluster (issue 26) with a real single-node Slurm (Debian's slurmctld, slurmd and
// munge, started here on loopback with their own key and slurm.conf: tests/helpers/slurm.ts) and
// the real trainer: with Settings → Slurm cluster, a fine-tune is staged to the shared folder and
// runs as a batch job whose event file streams into the Training view's events, its candidate
// comes back through the same registration and gate as a local run; cancel is scancel (the run
// ends cancelled), a job cancelled on the cluster by someone else ends the run failed with
// Slurm's state, sbatch's refusal and a cluster Python that cannot start fail the run in words,
// and a job outlives a backend restart and is followed to its candidate by the id stored with
// its run.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import { trainerEventSchema } from '../../src/shared/contract/training';
import type { SlurmCluster } from '../../src/shared/contract/settings';
import { skipTitle } from '../helpers/skip';
import { startSlurm, type TestSlurm } from '../helpers/slurm';
import { tempDir } from '../helpers/temp';
import { importLabelledStudies } from '../helpers/training-data';

const trainer = await probeTrainer(pythonCandidates(''));
const slurm: TestSlurm = trainer.available
  ? await startSlurm()
  : { reason: '', conf: '', shared: '', logs: () => '', stop: async () => {} };
const reason = !trainer.available
  ? `no Python with torch: ${trainer.reason}`
  : slurm.reason
    ? `Slurm cannot start here: ${slurm.reason}`
    : '';

describe.skipIf(reason !== '')(skipTitle('training on a Slurm cluster', reason), () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let b: Backend;
  const cluster = (): SlurmCluster => ({
    sharedFolder: slurm.shared,
    clusterFolder: '',
    python: trainer.python!,
    partition: '',
    gres: '',
    timeLimitMinutes: 0,
    submitCommand: [],
  });
  const scontrol = (jobId: string) => execFileSync('scontrol', ['show', 'job', '-o', jobId], { encoding: 'utf8' });
  const clusterJob = (runId: number) =>
    JSON.parse(b.db.prepare('SELECT cluster_job FROM training_runs WHERE id = ?').pluck().get(runId) as string) as {
      jobId: string;
      dir: string;
    };
  const firstStep = () =>
    new Promise<void>((resolve) => {
      const off = b.events.on('onDidTrainStep', () => {
        off();
        resolve();
      });
    });

  beforeAll(async () => {
    process.env.OMP_NUM_THREADS = '2';
    process.env.SLURM_CONF = slurm.conf;
    b = createBackend({ dataDir, transport: 'http', inference: false });
    await importLabelledStudies(b, tmp.dir, {
      patients: 2,
      imagesPerSeries: 2,
      seed: 404,
      domain: 'shifted',
      validationPatients: 1,
    });
    await b.services.settings.update({ slurmCluster: cluster() });
  }, 120_000);
  afterAll(async () => {
    b?.close();
    await slurm.stop();
    tmp.cleanup();
  }, 60_000);

  it('a fine-tune runs as a batch job: events stream from its event file, the candidate is registered and gated', async () => {
    const steps: unknown[] = [];
    const off = b.events.on('onDidTrainStep', (e) => steps.push(e));
    const run = await b.services.training.start({ maxSteps: 2 });
    const done = await b.training.waitFor(run.id);
    off();
    expect(done.error, slurm.logs()).toBeNull();
    expect(done.status).toBe('done');
    // It ran under Slurm: the job named after the run, completed, on the test node.
    const job = clusterJob(run.id);
    const info = scontrol(job.jobId);
    expect(info).toMatch(new RegExp(`JobName=lgms-finetune-run${run.id}\\b`));
    expect(info).toMatch(/JobState=COMPLETED/);
    expect(info).toMatch(/NodeList=lgmsnode/);
    expect(b.training.trainerPid()).toBeUndefined();
    // The same events as a local run.
    expect(steps).toHaveLength(2);
    for (const s of steps) {
      const { runId, ...event } = s as { runId: number };
      expect(runId).toBe(run.id);
      expect(trainerEventSchema.safeParse(event).success).toBe(true);
    }
    expect(done.curve.filter((p) => p.kind === 'step')).toHaveLength(2);
    expect(done.curve.some((p) => p.kind === 'validation')).toBe(true);
    // The candidate: registered from the run's own folder, with its parent and the gate on the frozen validation labels.
    const candidate = (await b.services.models.list()).find((v) => v.id === done.candidateVersionId)!;
    expect(candidate.status).toBe('candidate');
    expect(candidate.parent).toBe('lgmsnet-starter');
    const dir = b.registry.get(candidate.id).dir;
    expect(path.relative(dataDir, dir)).toBe(path.join('training', `run-${run.id}`));
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'model.onnx', 'split.json', 'weights.pt']);
    expect(done.gateError).toBeNull();
    expect(done.gate!.n).toBe(2);
    expect(done.referenceGate!.n).toBe(32);
    expect(b.registry.active()!.manifest.id).toBe('lgmsnet-starter');
    // Nothing left in the shared folder.
    expect(readdirSync(slurm.shared)).toEqual([]);
  }, 600_000);

  it('cancel: scancel stops the job and the run ends cancelled, leaving nothing', async () => {
    const versions = (await b.services.models.list()).length;
    const run = await b.services.training.start({ maxSteps: 1000 });
    await firstStep();
    await b.services.training.cancel({ id: run.id });
    const final = await b.training.waitFor(run.id);
    expect(final.status).toBe('cancelled');
    expect(final.error).toBeNull();
    expect(scontrol(clusterJob(run.id).jobId)).toMatch(/JobState=CANCELLED/);
    expect((await b.services.models.list()).length).toBe(versions);
    expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
    expect(readdirSync(slurm.shared)).toEqual([]);
  }, 600_000);

  it("a job killed by scancel on the cluster: the run ends failed with Slurm's state", async () => {
    const run = await b.services.training.start({ maxSteps: 1000 });
    await firstStep();
    execFileSync('scancel', [clusterJob(run.id).jobId]);
    const final = await b.training.waitFor(run.id);
    expect(final.status).toBe('failed');
    expect(final.error).toMatch(
      new RegExp(
        `^Fine-tuning failed: Slurm job ${clusterJob(run.id).jobId} was cancelled on the cluster, not from this workstation \\(CANCELLED`,
      ),
    );
    expect(final.candidateVersionId).toBeNull();
    expect(existsSync(path.join(dataDir, 'training', `run-${run.id}`))).toBe(false);
    expect(readdirSync(slurm.shared)).toEqual([]);
  }, 600_000);

  it('sbatch refuses the job (no such partition): the run fails in words and nothing is left in the shared folder', async () => {
    await b.services.settings.update({ slurmCluster: { ...cluster(), partition: 'no-such-partition' } });
    try {
      const final = await b.training.waitFor((await b.services.training.start({ maxSteps: 2 })).id);
      expect(final.status).toBe('failed');
      expect(final.error).toMatch(/^The cluster refused the fine-tuning job: .*partition/i);
      expect(readdirSync(slurm.shared)).toEqual([]);
    } finally {
      await b.services.settings.update({ slurmCluster: cluster() });
    }
  }, 120_000);

  it("the cluster's Python cannot start: the run fails saying so, with the shell's words", async () => {
    await b.services.settings.update({ slurmCluster: { ...cluster(), python: '/no/such/python3' } });
    try {
      const final = await b.training.waitFor((await b.services.training.start({ maxSteps: 2 })).id);
      expect(final.status).toBe('failed');
      expect(final.error).toMatch(
        /^Fine-tuning failed: Slurm job \d+ failed before the trainer started on the cluster \(exit code 127\): do its nodes see the shared folder, and is "\/no\/such\/python3" a Python with PyTorch there\? Its last message: .*\/no\/such\/python3/,
      );
      expect(readdirSync(slurm.shared)).toEqual([]);
    } finally {
      await b.services.settings.update({ slurmCluster: cluster() });
    }
  }, 120_000);

  it('the backend restarts mid-job: the next start finds the job by its stored id and follows it to a registered candidate', async () => {
    const run = await b.services.training.start({ maxSteps: 8 });
    await firstStep();
    const job = clusterJob(run.id);
    b.close(); // the job goes on without the backend
    expect(scontrol(job.jobId)).toMatch(/JobState=(RUNNING|COMPLETING|COMPLETED)/);
    b = createBackend({ dataDir, transport: 'http', inference: false });
    expect((await b.services.training.list()).find((r) => r.id === run.id)!.status).toBe('running');
    const done = await b.training.waitFor(run.id);
    expect(done.error, slurm.logs()).toBeNull();
    expect(done.status).toBe('done');
    expect(done.curve.filter((p) => p.kind === 'step')).toHaveLength(8);
    expect(done.gate!.n).toBe(2);
    expect(clusterJob(run.id).jobId).toBe(job.jobId);
    expect(readdirSync(slurm.shared)).toEqual([]);
  }, 600_000);
});

// 0200: a fine-tune can run as a Slurm batch job (issue 26). `cluster_job` records the job
// with its run while it trains — {"scheduler":"slurm","jobId":"…","dir":"…","cancelRequested":bool},
// `dir` being the job's folder in the shared folder as this workstation sees it — so that a
// backend that restarts finds the job by its id and follows it to its end instead of marking
// the run interrupted (a batch job outlives the workstation's backend). NULL for a local run.
import type { Migration } from './types';

export const migration0200: Migration = {
  version: 200,
  name: 'cluster-training',
  up(db) {
    db.exec(`
      ALTER TABLE training_runs ADD COLUMN cluster_job TEXT
        CHECK (cluster_job IS NULL OR (json_valid(cluster_job) AND json_extract(cluster_job, '$.jobId') IS NOT NULL));
    `);
  },
};

// 0240: which process owns a job or a training run. The command line (`lgms …`) may start on the
// data folder while the app has work running there: a start used to mark every running job and run
// interrupted and kill the run's trainer, whoever owned it. `owner_pid` is the process that queued
// or runs it (null for rows written before this step: their owner is gone). Nothing else changes.
import type { Migration } from './types';

export const migration0240: Migration = {
  version: 240,
  name: 'work-owners',
  up(db) {
    db.exec(`
      ALTER TABLE jobs ADD COLUMN owner_pid INTEGER;
      ALTER TABLE training_runs ADD COLUMN owner_pid INTEGER;
    `);
  },
};

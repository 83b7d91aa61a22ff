// 0120: the registry gate's second comparison, on the reference set of the parent's own domain
// shipped with the model (model.json `referenceSet`), so forgetting shows beside the gain on
// the run's frozen validation labels (issue 12).
import type { Migration } from './types';

export const migration0120: Migration = {
  version: 120,
  name: 'reference-gate',
  up(db) {
    db.exec(`
      -- Per-case Dice of candidate and parent on the reference set, paired bootstrap CI, verdict
      -- (the GateResult of src/shared/contract/training.ts with set = 'reference'); NULL until run.
      ALTER TABLE model_version_training ADD COLUMN reference_gate TEXT
        CHECK (reference_gate IS NULL OR json_valid(reference_gate));
    `);
  },
};

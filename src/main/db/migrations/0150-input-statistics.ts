// 0150: how far each predicted slice's input lies from the images its model was trained on
// (src/shared/model/input-statistics.ts), so a series unlike them is shown as such however
// certain the model looks (issue 21, item 5), and the review item's share of such slices.
import type { Migration } from './types';

export const migration0150: Migration = {
  version: 150,
  name: 'input-statistics',
  up(db) {
    db.exec(`
      -- Largest excess of the input histogram over the model's per-bin ranges (a fraction of the
      -- slice's pixels; 0 = like the training images); NULL when the model carries no statistics.
      ALTER TABLE predictions ADD COLUMN input_distance REAL CHECK (input_distance IS NULL OR input_distance BETWEEN 0 AND 1);
      -- Share of the series' slices unlike the training images, when the prediction arrived; NULL: no statistics.
      ALTER TABLE review_items ADD COLUMN unlike_share REAL CHECK (unlike_share IS NULL OR unlike_share BETWEEN 0 AND 1);
    `);
  },
};

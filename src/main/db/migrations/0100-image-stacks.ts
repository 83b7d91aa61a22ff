// 0100: what tells apart several images of one series at one position (PS3.3 C.7.6.1, C.8.3.1,
// C.7.6.2): Temporal Position Identifier (0020,0100), Echo Numbers (0018,0086) and Acquisition
// Number (0020,0012), per image. The import orders a series stack after stack from them; a
// later import that appends images to the series orders old and new rows again from the
// database, so it needs them stored (an append otherwise interleaves the phases slice by slice).
// NULL when absent, and for images imported before this migration (their headers are not re-read).
import type { Migration } from './types';

export const migration0100: Migration = {
  version: 100,
  name: 'image-stacks',
  up(db) {
    db.exec(`
      ALTER TABLE images ADD COLUMN temporal_position_identifier INTEGER;
      ALTER TABLE images ADD COLUMN echo_numbers INTEGER;
      ALTER TABLE images ADD COLUMN acquisition_number INTEGER;
    `);
  },
};

// 0090: each image's Slice Thickness (0018,0050) in mm, as its DICOM header states it — the
// nominal thickness the viewer shows beside the spacing between slices, which can differ
// (overlapping or gapped reconstructions). NULL when the header has none (NIfTI, PNG, DICOM
// without it) and for images imported before this migration, whose headers are not re-read:
// the viewer then shows no thickness rather than a guess.
import type { Migration } from './types';

export const migration0090: Migration = {
  version: 90,
  name: 'slice-thickness',
  up(db) {
    db.exec(`ALTER TABLE images ADD COLUMN slice_thickness REAL CHECK (slice_thickness IS NULL OR slice_thickness > 0);`);
  },
};

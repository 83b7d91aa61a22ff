// Set-up shared by the migration tests (src/main/db/migrations/*.test.ts): a database file built
// with the migrations up to an older schema version, some rows written into it, then opened with
// the migrations up to a newer one, the way an installed copy upgrades.
import { openDatabase, type Database } from '../../src/main/db/database';
import { MIGRATIONS } from '../../src/main/db/migrations/index';

/**
 * Creates `file` at schema version `from`, runs `sql` in it (the rows the upgrade must keep) and
 * closes it; returns the file reopened with the migrations up to `to` (the caller closes it).
 * Throws whatever the migration or the SQL throws.
 */
export function upgradedDatabase(file: string, from: number, to: number, sql: string): Database {
  const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= from) });
  old.exec(sql);
  old.close();
  return openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= to) });
}

/** One patient, study and series (DICOM, 2×2) with one stored file and one image, all id 1. */
export const ONE_DICOM_IMAGE = `
  INSERT INTO patients (id, patient_key) VALUES (1, 'k');
  INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
  INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'dicom', 2, 2);
  INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'dicom');
  INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2);
`;

// 0050: imported files may live in a pack — one append-only file per import thread holding many
// imported files back to back — instead of a file each. `pack_offset` says where a file's bytes
// start in `store_path` (NULL: the whole of `store_path` is the file); `size` says how many.
import type { Migration } from './types';

export const migration0050: Migration = {
  version: 50,
  name: 'store-packs',
  up(db) {
    db.exec(`
      ALTER TABLE files ADD COLUMN pack_offset INTEGER CHECK (pack_offset IS NULL OR pack_offset >= 0);
      -- Whether anything still refers to a pack (an import removes its packs that nothing does).
      CREATE INDEX files_store_path ON files (store_path);
    `);
  },
};

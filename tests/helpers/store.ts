// Checks a data folder's content store against its database: every file row's bytes are there
// (whole file or pack range), with the size and SHA-256 the row says, and no pack is left that no
// row points into.
import BetterSqlite3 from 'better-sqlite3';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ContentStore } from '../../src/main/store/content-store';

export function storeProblems(dataDir: string, options: { allowUnreferencedPacks?: boolean } = {}): string[] {
  const file = path.join(dataDir, 'lgms.sqlite');
  if (!existsSync(file)) return [];
  const db = new BetterSqlite3(file, { readonly: true });
  const store = new ContentStore(path.join(dataDir, 'store'));
  const problems: string[] = [];
  try {
    const rows = db.prepare('SELECT sha256, store_path, pack_offset, size FROM files').all() as {
      sha256: string;
      store_path: string;
      pack_offset: number | null;
      size: number;
    }[];
    for (const row of rows) {
      try {
        const bytes = store.read({ relative: row.store_path, offset: row.pack_offset }, row.size);
        if (bytes.length !== row.size)
          problems.push(`${row.store_path}@${row.pack_offset}: ${bytes.length} bytes, the row says ${row.size}`);
        else if (ContentStore.hash(bytes) !== row.sha256)
          problems.push(`${row.store_path}@${row.pack_offset}: content does not hash to ${row.sha256}`);
      } catch (e) {
        problems.push(`${row.store_path}: ${(e as Error).message}`);
      }
    }
    if (!options.allowUnreferencedPacks) {
      const referenced = new Set(rows.map((r) => r.store_path));
      const packsDir = path.join(dataDir, 'store', 'packs');
      for (const name of existsSync(packsDir) ? readdirSync(packsDir) : []) {
        if (!referenced.has(path.join('packs', name))) problems.push(`packs/${name}: nothing refers to it`);
      }
    }
  } finally {
    db.close();
  }
  return problems;
}

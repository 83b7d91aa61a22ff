// Settings persisted in SQLite, one row per key, so a newer version can add keys without a migration.
import { DEFAULT_SETTINGS, settingsSchema, type Settings, type SettingsPatch, type SettingsService } from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import type { Events } from '../../shared/contract';
import type { Database } from '../db/database';

export class SettingsMainService implements SettingsService {
  private cache: Settings | undefined;

  constructor(
    private readonly db: Database,
    private readonly events: Emitter<Events>,
  ) {}

  async get(): Promise<Settings> {
    return this.read();
  }

  /** Synchronous read for other services. */
  read(): Settings {
    if (this.cache) return this.cache;
    const rows = this.db.prepare('SELECT key, value FROM settings').all() as { key: string; value: string }[];
    const merged: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const { key, value } of rows) {
      if (Object.hasOwn(DEFAULT_SETTINGS, key)) merged[key] = JSON.parse(value);
    }
    // A stored value that no longer fits the schema (an older version's) falls back to its default.
    const parsed = settingsSchema.safeParse(merged);
    this.cache = parsed.success ? parsed.data : repair(merged);
    return this.cache;
  }

  async update(patch: SettingsPatch): Promise<Settings> {
    const next = settingsSchema.parse({ ...this.read(), ...patch });
    const upsert = this.db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.db.transaction(() => {
      for (const key of Object.keys(patch)) upsert.run(key, JSON.stringify(next[key as keyof Settings]));
    })();
    this.cache = next;
    this.events.emit('onDidChangeSettings', next);
    return next;
  }

  async reset(): Promise<Settings> {
    this.db.prepare('DELETE FROM settings').run();
    this.cache = undefined;
    const settings = this.read();
    this.events.emit('onDidChangeSettings', settings);
    return settings;
  }
}

function repair(merged: Record<string, unknown>): Settings {
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const key of Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[]) {
    const field = settingsSchema.shape[key];
    if (field.safeParse(merged[key]).success) out[key] = merged[key];
  }
  return out as Settings;
}

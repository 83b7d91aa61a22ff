// The `settings` service: user preferences persisted in the study database.
import { z } from 'zod';
import { EXECUTION_PROVIDERS } from './system';

export const settingsSchema = z.object({
  /** Author of every label and actor of every decision and export; empty: the operating-system account (src/main/settings/identity.ts). */
  userName: z.string().trim().max(128),
  /** `auto` tries CUDA → DirectML → CoreML → WebGPU → CPU; a name forces one. */
  executionProvider: z.enum(['auto', ...EXECUTION_PROVIDERS]),
  autoSegmentOnImport: z.boolean(),
  /** Flip test-time augmentation: 0 = off. */
  ttaFlips: z.union([z.literal(0), z.literal(2), z.literal(4)]),
  reviewOrder: z.enum(['uncertainty', 'fifo', 'random']),
  /** Python interpreter with PyTorch for fine-tuning; empty = look it up. */
  pythonPath: z.string().max(4096),
  overlayOpacity: z.number().min(0).max(1),
  /** Fine-tune on its own after this many new training labels; 0 = off (never fewer than 4). */
  autoFineTuneAfter: z.union([z.literal(0), z.number().int().min(4).max(100_000)]),
});

export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  userName: '',
  executionProvider: 'auto',
  autoSegmentOnImport: true,
  ttaFlips: 2,
  reviewOrder: 'uncertainty',
  pythonPath: '',
  overlayOpacity: 0.45,
  autoFineTuneAfter: 0,
};

export const settingsPatchSchema = settingsSchema.partial().strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export const settingsMethods = {
  get: z.undefined(),
  update: settingsPatchSchema,
  reset: z.undefined(),
} as const;

export interface SettingsService {
  get(): Promise<Settings>;
  update(patch: z.input<typeof settingsMethods.update>): Promise<Settings>;
  reset(): Promise<Settings>;
}

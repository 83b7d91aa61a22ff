// The `demo` service: generated phantom studies so a first start is not an empty worklist.
import { z } from 'zod';

export const demoMethods = {
  load: z
    .object({
      patients: z.number().int().min(1).max(50).default(6),
      imagesPerSeries: z.number().int().min(1).max(50).default(5),
      /** Both adds studies from a second, "shifted" scanner: where fine-tuning helps. */
      domain: z.enum(['base', 'shifted', 'both']).default('both'),
      /** Also one synthetic abdomen CT volume per domain (256 × 256 × 48), its label maps kept aside as ground truth. */
      ctVolume: z.boolean().default(false),
    })
    .strict()
    .prefault({}),
} as const;

export interface DemoService {
  /** Writes demo DICOM studies into the data folder and imports them; returns the import job. */
  load(input?: z.input<typeof demoMethods.load>): Promise<{ jobId: number; files: number }>;
}

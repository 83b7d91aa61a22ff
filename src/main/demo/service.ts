// "Load demo studies": phantom DICOM studies written into the data folder, then imported like
// any other folder (so they go through the same import, auto-segmentation and worklist).
import path from 'node:path';
import type { DemoService } from '../../shared/contract';
import { demoMethods } from '../../shared/contract';
import type { ImportMainService } from '../import/service';
import { writeCtPhantomSeries, writeDemoStudies } from './index';

/** Fixed seeds: the same demo studies on every machine, none from the starter model's training seeds. */
const SEEDS = { base: 4001, shifted: 4002 } as const;
/** The CT phantom's seed: one patient, scanned in both domains. */
const CT_SEED = 4101;

export class DemoMainService implements DemoService {
  /**
   * `installDemoModels`: registers the models that go with the demo's CT volumes (resources/
   * demo-models: the 3D starter and its task), called before the CT volumes are imported so
   * they are segmented by it; returns the folders that could not be registered, with why.
   */
  constructor(
    private readonly dataDir: string,
    private readonly importer: ImportMainService,
    private readonly installDemoModels: () => string[] = () => [],
  ) {}

  async load(input: Parameters<DemoService['load']>[0] = {}): Promise<{ jobId: number; files: number }> {
    const o = demoMethods.load.parse(input);
    const root = path.join(this.dataDir, 'demo-studies');
    const domains = o.domain === 'both' ? (['base', 'shifted'] as const) : [o.domain];
    // The CT phantom's own model and task (the 3D starter), before its volumes arrive.
    if (o.ctVolume)
      for (const problem of this.installDemoModels()) process.stderr.write(`demo model not installed: ${problem}\n`);
    let files = 0;
    for (const domain of domains) {
      const written = await writeDemoStudies(path.join(root, domain), {
        patients: domain === 'shifted' && o.domain === 'both' ? Math.max(1, Math.ceil(o.patients / 3)) : o.patients,
        imagesPerSeries: o.imagesPerSeries,
        seed: SEEDS[domain],
        domain,
      });
      files += written.length;
      if (o.ctVolume) {
        // The label maps go outside the imported folder: they are the answer, not images to read.
        const ct = await writeCtPhantomSeries({
          dicomDir: path.join(root, `ct-${domain}`),
          groundTruthDir: path.join(this.dataDir, 'demo-ground-truth'),
          seed: CT_SEED,
          domain,
          size: 256,
          slices: 48,
        });
        files += ct.files.length;
      }
    }
    const { jobId } = await this.importer.start({ paths: [root] });
    return { jobId, files };
  }
}

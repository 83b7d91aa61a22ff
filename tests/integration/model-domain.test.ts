// A version keeps its parent's domain (issue 21, item 4): a fine-tuned version whose model.json
// names no `domain` (as every one the trainer wrote before) is for what its parent is for, so
// after a promote a head CT imported later stays outside the domain and unsegmented, and after a
// roll back too. The training service writes the parent's domain into a new candidate's
// model.json. Real backend and inference engine, the shipped starter, pydicom's CT_small.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { inheritDomain } from '../../src/main/models/package';
import { copyModelFolder } from '../../src/main/models/transfer';
import { sources } from '../fixtures';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const CT = path.join(sources.pydicom, 'test_files', 'CT_small.dcm');
const missing = !existsSync(path.join(STARTER, 'model.onnx'))
  ? 'the starter model is missing'
  : !existsSync(CT)
    ? 'run bash tests/fixtures/setup.sh'
    : '';

/** A copy of the starter as a fine-tuned child of it with no `domain`, as the trainer writes one. */
function domainlessChild(dir: string, id: string): string {
  const child = copyModelFolder(STARTER, dir).dir;
  const file = path.join(child, 'model.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete m.domain;
  delete m.referenceSet;
  writeFileSync(file, JSON.stringify({ ...m, id, parent: 'lgmsnet-starter', version: `${String(m.version)}+ft1` }));
  return child;
}

describe.skipIf(missing !== '')(`a version keeps its parent's domain (${missing || 'starter, CT_small'})`, () => {
  const tmp = tempDir();
  let b: Backend;
  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    await b.services.settings.update({ ttaFlips: 0 });
  }, 120_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('writes the parent domain into a candidate model.json that names none, and never replaces one', () => {
    const dir = domainlessChild(path.join(tmp.dir, 'written'), 'lgmsnet-starter-ft7');
    const domain = b.registry.active()!.manifest.domain!;
    expect(inheritDomain(dir, domain)).toBe(true);
    expect(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')).domain).toEqual(domain);
    expect(inheritDomain(dir, { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'head' })).toBe(false);
    expect(JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')).domain).toEqual(domain);
  });

  it('an out-of-domain CT stays unsegmented after promoting a domain-less child, and after rolling back', async () => {
    const starter = b.registry.active()!;
    expect(starter.manifest.domain?.modalities).toEqual(['US']);
    const child = await b.services.models.importVersion({
      folder: domainlessChild(path.join(tmp.dir, 'child'), 'lgmsnet-starter-ft1'),
    });
    // Stored without a domain, read with its parent's.
    expect(
      JSON.parse(b.db.prepare('SELECT manifest FROM model_versions WHERE id = ?').pluck().get(child.id) as string).domain,
    ).toBeUndefined();
    expect(b.registry.get(child.id).manifest.domain).toEqual(starter.manifest.domain);
    await b.services.models.activate({ id: child.id });
    expect((await b.services.inference.status()).model?.id).toBe(child.id);

    const started = await b.services.import.start({ paths: [CT] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    const ct = b.db.prepare("SELECT id FROM series WHERE modality = 'CT'").pluck().get() as number;
    const unsegmented = async () => {
      expect((await b.services.jobs.list({ kind: 'inference' })).length).toBe(0);
      expect(
        b.db
          .prepare('SELECT count(*) FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.series_id = ?')
          .pluck()
          .get(ct),
      ).toBe(0);
      expect((await b.services.review.states({ seriesIds: [ct] }))[ct]).toBe('outside-domain');
      expect((await b.services.review.item({ seriesId: ct })).domainReason).toMatch(/CT images, and this model is for US/);
    };
    await unsegmented();

    await b.services.models.activate({ id: starter.id });
    expect((await b.services.inference.status()).model?.id).toBe(starter.id);
    await unsegmented();
  });
});

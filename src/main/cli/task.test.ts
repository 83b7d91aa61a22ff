import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { main } from './index';

/** Runs `lgms …` in this process; returns the exit code and what it printed. */
async function lgms(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    return { code: await main(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('lgms task', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('creates a task with its labels and codes, lists and shows it by name in any case', async () => {
    const created = await lgms(
      'task',
      'create',
      'Thyroid',
      '--labels',
      'Thyroid lobe,Trachea',
      '--modalities',
      'US',
      '--body-part',
      'neck',
      '--data-dir',
      tmp.dir,
    );
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^2 {2}Thyroid$/m);
    // A name found in the shipped catalogue takes its SNOMED CT code; another gets a local code.
    expect(created.out).toMatch(/1 {2}Thyroid lobe +#[0-9a-f]{6} {2}99LGMS \S+ "Thyroid lobe"/);
    expect(created.out).toMatch(/2 {2}Trachea +#[0-9a-f]{6} {2}SCT 44567001 "Trachea"/);
    const list = await lgms('task', 'list', '--data-dir', tmp.dir);
    expect(list.out).toContain('Breast lesion (demo)');
    expect(list.out).toContain('none yet (train the first model)');
    const shown = await lgms('task', 'show', 'thyroid', '--json', '--data-dir', tmp.dir);
    expect(JSON.parse(shown.out)).toMatchObject({
      id: 2,
      name: 'Thyroid',
      domain: { modalities: ['US'], bodyPart: 'neck' },
      activeVersionId: null,
    });
    const unknown = await lgms('task', 'show', 'Liver', '--data-dir', tmp.dir);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no task "Liver"; there are: "Breast lesion (demo)", "Thyroid"');
  });

  it('creates a 3D task with --kind, and refuses a kind it does not know', async () => {
    const created = await lgms(
      'task',
      'create',
      'Abdomen',
      '--labels',
      'Liver,Spleen',
      '--modalities',
      'CT',
      '--kind',
      '3D',
      '--data-dir',
      tmp.dir,
    );
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/applies to CT \(MONOCHROME2, RGB\); 3d$/m);
    const shown = await lgms('task', 'show', 'abdomen', '--json', '--data-dir', tmp.dir);
    expect(JSON.parse(shown.out)).toMatchObject({ name: 'Abdomen', modelKind: '3d' });
    const wrong = await lgms('task', 'create', 'X', '--labels', 'a', '--modalities', 'CT', '--kind', '4d', '--data-dir', tmp.dir);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('--kind is 2d, 2.5d or 3d');
  });

  it('refuses a create without labels or modalities, and train --task with too few labels, in words', async () => {
    expect((await lgms('task', 'create', 'X', '--modalities', 'US', '--data-dir', tmp.dir)).code).toBe(2);
    expect((await lgms('task', 'create', 'X', '--labels', 'a', '--data-dir', tmp.dir)).code).toBe(2);
    await lgms('task', 'create', 'Liver', '--labels', 'Liver', '--modalities', 'CT', '--data-dir', tmp.dir);
    const train = await lgms('train', '--task', 'liver', '--data-dir', tmp.dir);
    expect(train.code).toBe(1);
    expect(train.err).toContain(
      'The first model of "Liver" needs at least 8 labelled images from at least 2 series; there are 0 from 0.',
    );
  });
});

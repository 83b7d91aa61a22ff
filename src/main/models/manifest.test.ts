import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelDims, parseModelManifest, volumeModelInput } from '../../shared/model/manifest';

const starter = readFileSync(path.resolve('resources/models/lgmsnet-starter/model.json'), 'utf8');

describe('model.json', () => {
  it('accepts the shipped starter model and reads its input rule', () => {
    const parsed = parseModelManifest(starter);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.manifest.architecture.parameters).toBe(2_321_393);
    expect(parsed.manifest.input.normalization).toEqual({ type: 'scale', min: 0, max: 255 });
    expect(parsed.manifest.metrics['test-base']!.dice).toBeGreaterThanOrEqual(0.9);
    // What it is for: ultrasound only, so CT/MR/unknown series are not segmented automatically.
    expect(parsed.manifest.domain).toEqual({
      modalities: ['US'],
      photometric: ['MONOCHROME2', 'RGB'],
      bodyPart: 'breast (synthetic phantoms)',
    });
  });

  it('lists every problem of a damaged manifest in words', () => {
    const broken = JSON.parse(starter) as {
      input: { size: number[]; normalization: unknown };
      output: { labels: string[] };
      files: { onnx: string };
    };
    broken.input.size = [100, 128];
    broken.output.labels = [];
    broken.files.onnx = '../../etc/passwd';
    broken.input.normalization = { type: 'window', center: 40, width: -1 };
    const parsed = parseModelManifest(JSON.stringify(broken));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const text = parsed.problems.join('\n');
    expect(text).toMatch(/input\.size/);
    expect(text).toMatch(/output\.labels/);
    expect(text).toMatch(/files\.onnx: a plain file name/);
    expect(text).toMatch(/normalization/);
    expect(parseModelManifest('{not json')).toMatchObject({ ok: false, problems: [expect.stringMatching(/not JSON/)] });
  });

  /** The starter's model.json made into a 3D CT model as SPEC3D states it (issue 25). */
  const threeD = () => {
    const m = JSON.parse(starter) as Record<string, Record<string, unknown>>;
    m.architecture = { ...m.architecture, classes: 5, dims: 3, depths: [1, 1, 3, 1, 1] };
    m.input = {
      ...m.input,
      channels: 1,
      size: [64, 64],
      channelMode: 'replicate',
      normalization: { type: 'window', center: 40, width: 400 },
      patch: [32, 64, 64],
      spacing: [2.5, 1.5, 1.5],
    };
    m.architecture.inChannels = 1;
    m.output = {
      classes: 5,
      labels: ['Liver', 'Spleen', 'Right kidney', 'Left kidney'],
      values: [1, 2, 3, 4],
      activation: 'softmax',
    };
    return m;
  };

  it('accepts a 3D model with its patch and spacing, and reads them; a 2D manifest reads as 2D', () => {
    const parsed = parseModelManifest(JSON.stringify(threeD()));
    expect(parsed.ok && parsed.manifest.architecture.depths).toEqual([1, 1, 3, 1, 1]);
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    expect(modelDims(parsed.manifest)).toBe(3);
    expect(volumeModelInput(parsed.manifest)).toEqual({ patch: [32, 64, 64], spacing: [2.5, 1.5, 1.5] });
    const flat = parseModelManifest(starter);
    if (!flat.ok) throw new Error(flat.problems.join('; '));
    expect(modelDims(flat.manifest)).toBe(2);
    expect(volumeModelInput(flat.manifest)).toBeNull();
  });

  it('refuses a 3D model without patch or spacing, with a patch not in multiples of 32, more than one channel or a sigmoid output', () => {
    const problems = (m: unknown) => {
      const parsed = parseModelManifest(JSON.stringify(m));
      return parsed.ok ? '' : parsed.problems.join('\n');
    };
    const noPatch = threeD();
    delete noPatch.input!.patch;
    delete noPatch.input!.spacing;
    expect(problems(noPatch)).toMatch(/input\.patch: a 3D model needs its patch/);
    expect(problems(noPatch)).toMatch(/input\.spacing: a 3D model needs its spacing/);
    const odd = threeD();
    odd.input!.patch = [32, 48, 64];
    odd.input!.spacing = [2.5, 0, 1.5];
    expect(problems(odd)).toMatch(/input\.patch\.1/);
    expect(problems(odd)).toMatch(/input\.spacing\.1/);
    const rgb = threeD();
    rgb.input!.channels = 3;
    rgb.architecture!.inChannels = 3;
    expect(problems(rgb)).toMatch(/input\.channels: a 3D model takes one channel/);
    const sigmoid = threeD();
    sigmoid.output = { classes: 1, labels: ['Liver'], activation: 'sigmoid', threshold: 0.5 };
    sigmoid.architecture!.classes = 1;
    expect(problems(sigmoid)).toMatch(/output\.activation: a 3D model has a softmax output/);
    // The 3D fields are optional for a 2D model and dims 2 is the default.
    const two = JSON.parse(starter) as Record<string, Record<string, unknown>>;
    two.architecture!.dims = 2;
    expect(problems(two)).toBe('');
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseModelManifest } from '../../shared/model/manifest';

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
});

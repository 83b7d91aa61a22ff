// Issue 14, kind 5: a NIfTI whose sform and qform disagree is read with a note saying so, and
// the geometry stored is the one nibabel gives (get_best_affine: the sform when its code is set).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readVolume } from '../../src/main/imaging/volume/read';
import { tempDir } from '../helpers/temp';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

describe('NIfTI sform and qform', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it("notes a disagreement, and the origin is nibabel's (the sform)", async () => {
    const file = path.join(tmp.dir, 'forms.nii');
    const script = [
      'import sys, json, numpy as np, nibabel as nib',
      'img = nib.Nifti1Image(np.arange(4 * 5 * 3, dtype=np.int16).reshape(4, 5, 3), np.eye(4))',
      'q = np.diag([2.0, 2.0, 3.0, 1.0]); q[:3, 3] = [10, 20, 30]',
      's = np.diag([2.0, 2.0, 3.0, 1.0]); s[:3, 3] = [-50, 60, 70]',
      'img.set_qform(q, code=1); img.set_sform(s, code=2)',
      'nib.save(img, sys.argv[1])',
      'print(json.dumps(nib.load(sys.argv[1]).affine.tolist()))',
    ].join('\n');
    const affine = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' })) as number[][];
    const volume = await readVolume(file);
    expect(volume.warnings).toContainEqual(
      expect.stringMatching(/sform and qform place voxels up to [\d.]+ mm apart: the sform \(code 2\) was used, as nibabel does/),
    );
    // nibabel's affine is RAS; the volume's origin is LPS.
    const ras = [affine[0]![3]!, affine[1]![3]!, affine[2]![3]!];
    expect(volume.origin.map((v) => Math.round(v * 1000) / 1000)).toEqual([-ras[0]!, -ras[1]!, ras[2]!]);
  });
});

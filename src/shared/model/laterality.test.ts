import { describe, expect, it } from 'vitest';
import { codesForName, LOCAL_SCHEME } from './codes';
import { hasLaterality, isLateralLabel, LATERAL_SCT_CODES, lateralLabels, mirroringOffNote, ttaFlipsForTask } from './laterality';

/** A label named `name` with the codes the tasks service gives it (catalogue or local). */
const label = (name: string, value = 1) => ({ name, type: codesForName(name, value).type });
/** The demo CT task's labels (src/main/demo/ct.ts CT_LABELS), coded as the tasks service codes them. */
const CT = ['Liver', 'Spleen', 'Right kidney', 'Left kidney'].map((n, i) => label(n, i + 1));
const local = (name: string, meaning = name) => ({ name, type: { value: 'L1', scheme: LOCAL_SCHEME, meaning } });

describe('laterality of a task’s labels', () => {
  it.each([
    ['Right kidney', true],
    ['left lung', true],
    ['LEFT ADRENAL GLAND', true],
    ['Kidney, right', true],
    ['right-sided effusion', true],
    ['Left_ventricle', true],
    ['Liver', false],
    ['Kidney', false],
    ['Bright spot', false],
    ['Upright view marker', false],
    ['Leftover tissue', false],
    ['Bilateral lesion', false],
    ['L kidney', false], // abbreviations are not read
  ])('%s → %s', (name, lateral) => {
    expect(isLateralLabel(label(name))).toBe(lateral);
  });

  it('reads the side from the code when the name does not say it', () => {
    expect([...LATERAL_SCT_CODES].sort()).toEqual(['18639004', '9846003']);
    expect(isLateralLabel({ name: 'Kidney A', type: { value: '9846003', scheme: 'SCT', meaning: 'Kidney A' } })).toBe(true);
    expect(isLateralLabel({ name: 'Kidney B', type: { value: '18639004', scheme: 'sct', meaning: 'Kidney B' } })).toBe(true);
    // The same digits in another scheme are another concept.
    expect(isLateralLabel({ name: 'Kidney A', type: { value: '9846003', scheme: LOCAL_SCHEME, meaning: 'Kidney A' } })).toBe(
      false,
    );
    // A Code Meaning that names the side, under a neutral name.
    expect(isLateralLabel(local('Organ 3', 'Right ovary'))).toBe(true);
  });

  it('the demo CT task has lateral labels; the ultrasound demo’s lesion has none', () => {
    expect(hasLaterality(CT)).toBe(true);
    expect(lateralLabels(CT).map((l) => l.name)).toEqual(['Right kidney', 'Left kidney']);
    expect(hasLaterality([label('lesion')])).toBe(false);
    expect(hasLaterality([])).toBe(false);
  });

  it('test-time flips: none for a task with a side, the requested number otherwise', () => {
    for (const n of [0, 2, 4] as const) {
      expect(ttaFlipsForTask(n, CT)).toBe(0);
      expect(ttaFlipsForTask(n, [label('lesion')])).toBe(n);
    }
  });

  it('tells the reader why, naming the labels with a side', () => {
    expect(mirroringOffNote([label('lesion')])).toBeNull();
    expect(mirroringOffNote([label('Liver'), label('Right kidney'), label('Left kidney')])).toMatch(
      /^Left-right mirroring is off for this task because its labels have a side \(Right kidney, Left kidney\)/,
    );
    const many = ['Right lung', 'Left lung', 'Right kidney', 'Left kidney', 'Left breast'].map((n) => label(n));
    expect(mirroringOffNote(many)).toMatch(/\(Right lung, Left lung, Right kidney and 2 more\)/);
  });
});

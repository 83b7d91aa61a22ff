import { describe, expect, it } from 'vitest';
import type { TaskLabel } from '../../shared/contract';
import { CATEGORIES, CODE_CATALOGUE } from '../../shared/model/codes';
import { composeLabelMaps, MappingError, proposeMapping, resolveMapping, type ForeignSegment } from './label-mapping';

const label = (value: number, name: string, retired = false): TaskLabel => ({
  value,
  name,
  colour: '#ff0000',
  ...(CODE_CATALOGUE.find((e) => e.type.meaning === name) ?? {
    category: CATEGORIES.anatomy,
    type: { value: `L${value}`, scheme: '99LGMS', meaning: name },
  }),
  retiredAt: retired ? '2026-01-01T00:00:00Z' : null,
});
const task = {
  id: 7,
  name: 'Neck',
  labels: [label(1, 'Thyroid'), label(2, 'Trachea'), label(3, 'old thing', true), label(4, 'Vein')],
};
const seg = (number: number, name: string, code: string | null = name): ForeignSegment => ({
  number,
  label: name,
  category: code ? (CODE_CATALOGUE.find((e) => e.type.meaning === code)?.category ?? CATEGORIES.anatomy) : null,
  type: code
    ? (CODE_CATALOGUE.find((e) => e.type.meaning === code)?.type ?? { value: '123', scheme: 'SCT', meaning: code })
    : null,
});

describe('proposeMapping', () => {
  it('maps by code first (whatever the name), then by name, and leaves the rest to the reader', () => {
    const p = proposeMapping(task, [seg(1, 'THYROID GLAND', 'Thyroid'), seg(2, ' trachea ', null), seg(3, 'Liver', 'Liver')]);
    expect(p.segments.map((s) => [s.number, s.value, s.by])).toEqual([
      [1, 1, 'code'],
      [2, 2, 'name'],
      [3, null, null],
    ]);
    expect(p.unresolved).toEqual([3]);
    expect(p.segments[2]!.problem).toMatch(/Liver \(SCT 10200004\).*not labels of task Neck/);
  });

  it('never proposes a retired label, and says the segment matches one', () => {
    const p = proposeMapping(task, [seg(1, 'old thing', null)]);
    expect(p.unresolved).toEqual([1]);
    expect(p.segments[0]!.problem).toMatch(/retired label old thing/);
  });

  it('sends two segments that match one label to the reader, whichever way they matched', () => {
    const p = proposeMapping(task, [seg(1, 'left lobe', 'Thyroid'), seg(2, 'Thyroid', null), seg(3, 'Vein', null)]);
    expect(p.unresolved).toEqual([1, 2]);
    expect(p.segments[0]!.problem).toMatch(/segments 1 and 2 both match label Thyroid \(by code and name\)/);
  });
});

describe('resolveMapping', () => {
  const proposal = proposeMapping(task, [seg(1, 'Thyroid'), seg(2, 'Mystery', 'Mystery')]);
  it('needs a choice for every unresolved segment, a label in use, and takes null as leaving it out', () => {
    expect(() => resolveMapping(task, proposal, [])).toThrow(MappingError);
    expect(() => resolveMapping(task, proposal, [{ segment: 2, value: 3 }])).toThrow(/value 3 is not a label in use/);
    expect(() => resolveMapping(task, proposal, [{ segment: 9, value: 1 }])).toThrow(/no segment 9/);
    expect([...resolveMapping(task, proposal, [{ segment: 2, value: null }])]).toEqual([
      [1, 1],
      [2, null],
    ]);
    expect(resolveMapping(task, proposal, [{ segment: 2, value: 4 }]).get(2)).toBe(4);
  });
});

describe('composeLabelMaps', () => {
  it('reports the pixels two segments of different labels share, keeps the higher segment, and never conflicts one label with itself', () => {
    const mask = (on: number[]) => Uint8Array.from({ length: 9 }, (_, p) => (on.includes(p) ? 1 : 0));
    const frames = [
      { index: 2, segment: 2, sourceKey: 'a', position: null, mask: mask([1, 2, 4]) },
      { index: 1, segment: 1, sourceKey: 'a', position: null, mask: mask([0, 1, 4]) },
      { index: 3, segment: 3, sourceKey: 'a', position: null, mask: mask([0, 8]) },
    ];
    const placement = { frames: new Map([1, 2, 3].map((i) => [i, 10])), by: 'reference' as const, emptyUnplaced: [] };
    const { maps, conflicts } = composeLabelMaps(
      frames,
      placement,
      new Map([
        [1, 1],
        [2, 2],
        [3, 1],
      ]),
      3,
      3,
    );
    expect([...maps.get(10)!]).toEqual([1, 2, 2, 0, 2, 0, 0, 0, 1]);
    expect(conflicts).toEqual([
      {
        imageId: 10,
        segments: [1, 2],
        kept: 2,
        pixels: 2,
        box: { rowMin: 0, rowMax: 1, columnMin: 1, columnMax: 1 },
        sample: [
          [0, 1],
          [1, 1],
        ],
      },
    ]);
  });
});

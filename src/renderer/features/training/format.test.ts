import { describe, expect, it } from 'vitest';
import type { TrainingRun } from '../../../shared/contract/training';
import { describeStatus, describeVerdict, formatEta, pct, pp } from './format';

describe('training words', () => {
  it('formats an ETA, and none when the trainer knows no bound', () => {
    expect(formatEta(-1)).toBeNull();
    expect(formatEta(42.4)).toBe('42 s');
    expect(formatEta(200)).toBe('3 min 20 s');
    expect(formatEta(3 * 3600 + 120)).toBe('3 h 2 min');
  });

  it('names each run status, a done run with a candidate as ready to compare', () => {
    const run = (status: TrainingRun['status'], candidateVersionId: number | null = null) =>
      ({ status, candidateVersionId }) as TrainingRun;
    expect(describeStatus(run('done', 4))).toBe('Candidate ready to compare');
    expect(describeStatus(run('running', 4))).toBe('Comparing the candidate with its parent');
    expect(describeStatus(run('running'))).toBe('Training');
    expect(describeStatus(run('interrupted'))).toBe('Interrupted');
    // The gate record of a version adopted from the shared folder: nothing was trained here.
    const adopted = {
      ...run('done', 5),
      adoptedFrom: { contentHash: 'a'.repeat(64), publishedBy: 'Dr A', workstation: 'ws-a', publishedAt: '' },
    };
    expect(describeStatus(adopted)).toBe('Adopted from the shared folder (published by Dr A)');
  });

  it('says a queued run waits only when an earlier run is queued or running; the first run is starting', () => {
    const first = { id: 1, status: 'queued', candidateVersionId: null } as TrainingRun;
    expect(describeStatus(first, [first])).toBe('Starting: preparing the labels');
    const second = { ...first, id: 2 };
    expect(describeStatus(second, [second, first])).toBe('Waiting for the run before it');
    expect(describeStatus(second, [second, { ...first, status: 'done' }])).toBe('Starting: preparing the labels');
  });

  it('writes Dice as percentages and differences as signed percentage points', () => {
    expect(pct(0.8794)).toBe('87.9 %');
    expect(pct(null)).toBe('—');
    expect(pp(0.153)).toBe('+15.3 pp');
    expect(pp(-0.062)).toBe('−6.2 pp');
    expect(describeVerdict('no-evidence')).toBe('No evidence of a difference');
  });
});

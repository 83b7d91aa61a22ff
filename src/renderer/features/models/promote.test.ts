import { describe, expect, it } from 'vitest';
import type { GateResult, ModelVersionInfo, TrainingRun } from '../../../shared/contract';
import { promoteQuestion } from './promote';

const version = { name: 'LGMSNet starter (fine-tuned, run 3)', version: '1.0.0+ft3' } as ModelVersionInfo;
const gate = (
  set: GateResult['set'],
  verdict: GateResult['verdict'],
  meanDifference: number,
  independent: number,
): GateResult => ({
  set,
  n: 8,
  independent,
  meanCandidate: 0.9,
  meanParent: 0.9 - meanDifference,
  meanDifference,
  ci95: [meanDifference - 0.01, meanDifference + 0.01],
  verdict,
  cases: [],
  provider: 'cpu',
  ttaFlips: 0,
  finishedAt: '2026-12-06T12:00:00Z',
});
const run = (g: GateResult | null, r: GateResult | null) => ({ gate: g, referenceGate: r }) as TrainingRun;

describe('promote confirmation', () => {
  it('names both verdicts, and asks again only when one says worse', () => {
    const fine = promoteQuestion(
      version,
      run(gate('validation', 'better', 0.021, 6), gate('reference', 'no-evidence', -0.002, 32)),
    );
    expect(fine.question).toContain('Validation labels: better than its parent (+2.1 pp, 6 images).');
    expect(fine.question).toContain('Reference set: no evidence of a difference (−0.2 pp, 32 images).');
    expect(fine.again).toBeNull();
    const worse = promoteQuestion(version, run(gate('validation', 'better', 0.021, 6), gate('reference', 'worse', -0.031, 32)));
    expect(worse.question).toContain('Reference set: worse than its parent (−3.1 pp, 32 images).');
    expect(worse.again).toBe(
      'On the reference set LGMSNet starter (fine-tuned, run 3) 1.0.0+ft3 is worse than its parent. Promote it anyway?',
    );
    expect(
      promoteQuestion(version, run(gate('validation', 'worse', -0.02, 6), gate('reference', 'worse', -0.03, 32))).again,
    ).toMatch(/^On the validation labels and on the reference set /);
  });

  it('says when there is no verdict or no comparison', () => {
    expect(promoteQuestion(version, run(gate('validation', 'too-few', 0, 2), null)).question).toContain(
      'Validation labels: no verdict: too few labels independent of the parent (2 independent images). Reference set: not compared.',
    );
    expect(promoteQuestion(version, run(null, null)).question).toMatch(/has not run: it is unproven\.$/);
    expect(promoteQuestion(version, undefined).again).toBeNull();
  });

  it('says where an adopted version came from, before its verdicts', () => {
    const adopted = {
      ...run(gate('validation', 'no-evidence', 0, 6), null),
      adoptedFrom: { contentHash: 'a'.repeat(64), publishedBy: 'Dr A', workstation: 'ws-a', publishedAt: '' },
    } as TrainingRun;
    expect(promoteQuestion(version, adopted).question).toContain(
      'roll back to. It was adopted from the shared folder (published by Dr A). Validation labels:',
    );
  });
});

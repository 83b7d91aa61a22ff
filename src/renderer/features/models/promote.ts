// What a promote asks (issue 21, item 3): the question names the gate's verdicts on the validation
// labels and on the reference set, and a second, explicit confirmation is asked when either says
// the version is worse than its parent. Pure, so the words are tested.
import type { GateResult, ModelVersionInfo, TrainingRun } from '../../../shared/contract';
import { describeVerdict, pp } from '../training/format';

export interface PromoteQuestion {
  question: string;
  /** The second question, asked after the first is confirmed; null when no verdict says worse. */
  again: string | null;
}

function verdictLine(name: string, g: GateResult | null): string {
  if (!g) return `${name}: not compared.`;
  const figures =
    g.verdict === 'too-few'
      ? `${g.independent ?? 0} independent images`
      : `${pp(g.meanDifference)}, ${g.independent ?? g.n} images`;
  return `${name}: ${describeVerdict(g.verdict).toLowerCase()} (${figures}).`;
}

/** The questions before making `v` active; `run` is the training run that made it, if any. */
export function promoteQuestion(v: ModelVersionInfo, run: TrainingRun | undefined): PromoteQuestion {
  const name = `${v.name} ${v.version}`;
  const from = run?.adoptedFrom ? ` It was adopted from the shared folder (published by ${run.adoptedFrom.publishedBy}).` : '';
  const ask = `Make ${name} the model every new segmentation uses? The current one stays available to roll back to.${from}`;
  if (!run) return { question: `${ask} It has no comparison with a parent on this workstation.`, again: null };
  if (run.firstModelGate) {
    const g = run.firstModelGate;
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    return {
      question: `${ask} It is the first model of its task (no parent to compare with): mean validation Dice over its labels ${pct(g.meanCandidate)} [${pct(g.ci95[0])}, ${pct(g.ci95[1])}] on ${g.n} images.`,
      again: null,
    };
  }
  if (!run.gate && !run.referenceGate)
    return { question: `${ask} Its comparison with its parent has not run: it is unproven.`, again: null };
  const lines = [verdictLine('Validation labels', run.gate), verdictLine('Reference set', run.referenceGate)];
  const worse = [
    run.gate?.verdict === 'worse' ? 'the validation labels' : null,
    run.referenceGate?.verdict === 'worse' ? 'the reference set' : null,
  ].filter((w): w is string => w !== null);
  return {
    question: `${ask} ${lines.join(' ')}`,
    again: worse.length ? `On ${worse.join(' and on ')} ${name} is worse than its parent. Promote it anyway?` : null,
  };
}

// The trainer's command line, built from the one statement of its options
// (resources/trainer/lgms_trainer/options.json, which the trainer's argparse is built from too):
// a recipe names each option once, is checked against that file, and becomes argv here, so
// adding an option is one edit to the JSON file and one to the recipe that sets it.
// The file is JSON rather than a TypeScript module because the trainer reads it as is: from the
// source tree, from the packaged app's resources/trainer and from the copy a Slurm job takes of
// lgms_trainer/, none of which runs a build step. Vite bundles it into the backend.
import path from 'node:path';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import options from '../../../resources/trainer/lgms_trainer/options.json';
import { hasLaterality, type LabelForLaterality } from '../../shared/model/laterality';
import type { ModelManifest } from '../../shared/model/manifest';
import type { Task } from '../../shared/contract/tasks';
import type { ResolvedVersion } from '../models/registry';
import type { Hyperparameters } from './service';

/** One option of options.json. */
export interface TrainerOption {
  type: 'str' | 'int' | 'float' | 'flag';
  help: string;
  required?: boolean;
  default?: string | number;
  choices?: string[];
}

type Commands = typeof options.commands;
export type TrainerCommand = keyof Commands;
/** The options of one command, by their names in options.json (the --flag without its dashes). */
export type TrainerRecipe<C extends TrainerCommand> = Partial<
  Record<keyof Commands[C]['options'], string | number | boolean | undefined>
>;

const OPTIONS_FILE = 'resources/trainer/lgms_trainer/options.json';

/** The options of a command as options.json states them. */
export function trainerOptions(command: TrainerCommand): Record<string, TrainerOption> {
  return options.commands[command].options as Record<string, TrainerOption>;
}

function optionSchema(o: TrainerOption): z.ZodType {
  const [first, ...rest] = o.choices ?? [];
  const value =
    o.type === 'flag'
      ? z.boolean()
      : o.type === 'int'
        ? z.number().int()
        : o.type === 'float'
          ? z.number().finite()
          : first !== undefined
            ? z.enum([first, ...rest])
            : z.string().min(1);
  return o.required ? value : value.optional();
}

/** A strict zod object per command, derived from options.json: an option it does not list is refused. */
export const trainerRecipeSchemas = Object.fromEntries(
  (Object.keys(options.commands) as TrainerCommand[]).map((c) => [
    c,
    z.strictObject(Object.fromEntries(Object.entries(trainerOptions(c)).map(([name, o]) => [name, optionSchema(o)]))),
  ]),
) as Record<TrainerCommand, z.ZodObject>;

/**
 * `-m lgms_trainer COMMAND --name value …` for a recipe: options left undefined (and flags set
 * false) are left out, so the trainer's default in options.json applies. Throws an Error naming
 * the option when the recipe holds one options.json does not list, a value of the wrong type or
 * outside its choices, or misses a required one: a recipe the trainer would refuse never starts.
 */
export function trainerArgv<C extends TrainerCommand>(command: C, recipe: TrainerRecipe<C>): string[] {
  const parsed = trainerRecipeSchemas[command].safeParse(recipe);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? `it has no option ${i.keys.map((k) => `--${k}`).join(', ')}`
        : `--${i.path.join('.')}: ${i.message}`,
    );
    throw new Error(`The trainer's ${command} command refuses this recipe (${OPTIONS_FILE}): ${problems.join('; ')}`);
  }
  const argv = ['-m', 'lgms_trainer', command];
  for (const [name, o] of Object.entries(trainerOptions(command))) {
    const value = (recipe as Record<string, string | number | boolean | undefined>)[name];
    if (value === undefined || value === false) continue;
    argv.push(`--${name}`);
    if (o.type !== 'flag') argv.push(String(value));
  }
  return argv;
}

/** The trainer's --normalization text of a model.json normalisation (scale:MIN,MAX | window:C,W | percentile:L,H). */
function normalizationArg(n: ModelManifest['input']['normalization']): string {
  if (n.type === 'scale') return `scale:${n.min},${n.max}`;
  if (n.type === 'window') return `window:${n.center},${n.width}`;
  return `percentile:${n.low},${n.high}`;
}

/** What `trainRecipe` needs of a run. */
export interface TrainRunInput {
  id: number;
  hp: Hyperparameters;
  /** Its labels (retired ones too) decide whether images may be mirrored (laterality.ts). */
  task: Pick<Task, 'id' | 'name'> & { labels: readonly LabelForLaterality[] };
  /** The version fine-tuned; null for a task's first model. */
  parent: ResolvedVersion | null;
  /** The version whose input rule the images were staged with (the parent, else the starter); null for a 3D first model from scratch. */
  base: ResolvedVersion | null;
  staging: string;
  labelMap: string;
  multiClass: boolean;
  size: [number, number] | undefined;
  out: string;
  trained: number;
  validated: number;
  /**
   * A 3D task's run (issue 25): volumes staged at `spacing` (SPEC3D), trained in patches of
   * `patch`; `normalization` is the modality's (CT window, MR percentiles). Absent: 2D images.
   */
  volume?: { patch: readonly number[]; spacing: readonly number[]; normalization: ModelManifest['input']['normalization'] };
}

/**
 * The `train` recipe of one run: its staged data, where it starts from (a parent to fine-tune,
 * the starter with a new head, or scratch), the task's label map, the hyper-parameters and the
 * new version's name. `trainerArgv('train', trainRecipe(run))` is the command line.
 */
export function trainRecipe(a: TrainRunInput): TrainerRecipe<'train'> {
  const { id, hp, task, parent, base, staging, multiClass, size, volume } = a;
  // A task whose labels have a side: a left-right flip would swap lateral labels (right and left
  // kidney), so no flips at all, 2D or 3D. A volume of any other task is mirrored left-right only
  // (it is in the patient's orientation: an up-down flip shows a view never segmented); measured
  // on the MR's tuning split, mirroring 0.837 against none 0.824 (docs/benchmarks.md, "3D on the
  // real MR, fourth session").
  const noFlip = hasLaterality(task.labels);
  const mirrorOnly = noFlip ? undefined : volume !== undefined ? true : hp.mirrorOnly;
  const replay = parent ? path.join(parent.dir, 'replay') : '';
  // The replay set is the starter's binary lesion masks: never mixed into a task's label map.
  const replays = parent !== null && !multiClass && existsSync(replay) && hp.replayFraction > 0;
  const name = parent
    ? {
        id: `${parent.manifest.id.replace(/-ft\d+$/, '')}-ft${id}`,
        name: `${parent.manifest.name.replace(/ \(fine-tuned.*\)$/, '')} (fine-tuned, run ${id})`,
        version: `${parent.manifest.version}+ft${id}`,
      }
    : { id: `task${task.id}-run${id}`, name: `${task.name} (first model, run ${id})`, version: `1.0.0+run${id}` };
  return {
    data: path.join(staging, 'training'),
    'val-data': path.join(staging, 'validation'),
    init: parent?.dir,
    'init-from': !parent && hp.init === 'starter' && base ? base.dir : undefined,
    'label-map': multiClass ? a.labelMap : undefined,
    // A 3D run: the trainer reads volumes/<case>/ and writes the patch and spacing into model.json.
    ...(volume ? { dims: '3', patch: volume.patch.join(','), spacing: volume.spacing.join(',') } : {}),
    width: volume && !parent ? hp.width : undefined,
    'no-flip': noFlip ? true : undefined,
    // A first model reads the images as they were staged (the starter's input rule), also from scratch.
    ...(parent
      ? {}
      : volume
        ? { normalization: normalizationArg(volume.normalization) }
        : {
            size: size?.[0] ?? base!.manifest.input.size[0],
            'channel-mode': base!.manifest.input.channelMode,
            normalization: normalizationArg(base!.manifest.input.normalization),
          }),
    out: a.out,
    'max-steps': hp.maxSteps,
    'batch-size': hp.batchSize,
    optimizer: hp.optimizer,
    lr: hp.lr,
    schedule: hp.schedule,
    // 0: the trainer's own interval (a validation every ≥ 20 steps), as in the measured runs.
    'val-every': hp.valEvery > 0 ? hp.valEvery : undefined,
    seed: hp.seed,
    ...name,
    'data-description': `${a.trained} training / ${a.validated} validation labels from this workstation (run ${id})`,
    'time-limit': hp.timeLimitSeconds,
    replay: replays ? replay : undefined,
    'replay-fraction': replays ? hp.replayFraction : undefined,
    anchor: parent && hp.anchor > 0 ? hp.anchor : undefined,
    'freeze-norm': hp.freezeNorm,
    // Runs queued before these options existed have no such keys: off.
    ema: hp.ema > 0 ? hp.ema : undefined,
    appearance: hp.appearance > 0 ? hp.appearance : undefined,
    zoom: hp.zoom > 0 ? hp.zoom : undefined,
    'mirror-only': mirrorOnly,
  };
}

// The backend's half of "the trainer's options stated once": every option it sends is one
// options.json lists, and a recipe with an option the file does not list never becomes argv.
// (The trainer's half, that argparse offers every option of the file, is
// resources/trainer/tests/test_options.py.)
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { codesForName } from '../../shared/model/codes';
import { readModelPackage } from '../models/package';
import type { ResolvedVersion } from '../models/registry';
import { trainRecipe, trainerArgv, trainerOptions, type TrainRunInput } from './recipe';
import { DEFAULT_HYPERPARAMETERS, FIRST_MODEL_HYPERPARAMETERS } from './service';

const STARTER_DIR = path.resolve('resources/models/lgmsnet-starter');
const starter: ResolvedVersion = { id: 1, dir: STARTER_DIR, manifest: readModelPackage(STARTER_DIR).manifest, taskId: 1 };

/** A label with the codes the tasks service gives it (codes.ts). */
const label = (name: string, value: number) => ({ name, type: codesForName(name, value).type });

function run(over: Partial<TrainRunInput>): TrainRunInput {
  return {
    id: 7,
    hp: { ...DEFAULT_HYPERPARAMETERS },
    task: { id: 3, name: 'Liver', labels: [label('Liver', 1)] },
    parent: starter,
    base: starter,
    staging: '/tmp/staging/run-7',
    labelMap: '/tmp/staging/run-7/label-map.json',
    multiClass: false,
    size: undefined,
    out: '/tmp/out',
    trained: 12,
    validated: 4,
    ...over,
  };
}

/** The --names of an argv, without the values between them. */
function flags(argv: string[]): string[] {
  return argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2));
}

describe('the trainer recipe (resources/trainer/lgms_trainer/options.json)', () => {
  // Every option switched on that a recipe can send: replay (the starter ships replay/), anchor,
  // the augmentations, a time limit, an explicit validation interval.
  const everything = {
    ...DEFAULT_HYPERPARAMETERS,
    freezeNorm: true,
    ema: 0.95,
    appearance: 0.5,
    zoom: 0.2,
    mirrorOnly: true,
    valEvery: 2,
    timeLimitSeconds: 60,
  };
  const recipes: [string, TrainRunInput][] = [
    ['a fine-tune with every option on', run({ hp: everything })],
    ['a multi-class fine-tune', run({ hp: everything, multiClass: true })],
    [
      "a task's first model from the starter",
      run({ parent: null, multiClass: true, hp: { ...everything, ...FIRST_MODEL_HYPERPARAMETERS, init: 'starter' } }),
    ],
    [
      "a task's first model from scratch at its own size",
      run({ parent: null, multiClass: true, size: [320, 320], hp: { ...everything, init: 'scratch' } }),
    ],
  ];

  it.each(recipes)('sends only options the trainer lists: %s', (_, input) => {
    const argv = trainerArgv('train', trainRecipe(input));
    expect(argv.slice(0, 3)).toEqual(['-m', 'lgms_trainer', 'train']);
    const listed = Object.keys(trainerOptions('train'));
    expect(flags(argv).filter((f) => !listed.includes(f))).toEqual([]);
  });

  it('builds the fine-tune command line the trainer was given before the schema', () => {
    const argv = trainerArgv('train', trainRecipe(run({ hp: everything })));
    const value = (name: string) => argv[argv.indexOf(`--${name}`) + 1];
    expect(flags(argv)).toEqual([
      'data',
      'val-data',
      'out',
      'init',
      'max-steps',
      'time-limit',
      'batch-size',
      'lr',
      'optimizer',
      'schedule',
      'seed',
      'val-every',
      'name',
      'id',
      'version',
      'data-description',
      'replay',
      'replay-fraction',
      'anchor',
      'freeze-norm',
      'appearance',
      'ema',
      'mirror-only',
      'zoom',
    ]);
    expect(value('init')).toBe(STARTER_DIR);
    expect(value('replay')).toBe(path.join(STARTER_DIR, 'replay'));
    expect(value('lr')).toBe('0.001');
    expect(value('max-steps')).toBe('120');
    expect(value('id')).toBe(`${starter.manifest.id}-ft7`);
    expect(value('version')).toBe(`${starter.manifest.version}+ft7`);
  });

  it("gives a first model the starter's input rule and no parent's replay or anchor", () => {
    const hp = { ...DEFAULT_HYPERPARAMETERS, ...FIRST_MODEL_HYPERPARAMETERS, init: 'starter' as const };
    const argv = trainerArgv('train', trainRecipe(run({ parent: null, multiClass: true, hp })));
    const value = (name: string) => argv[argv.indexOf(`--${name}`) + 1];
    expect(value('init-from')).toBe(STARTER_DIR);
    expect(value('size')).toBe(String(starter.manifest.input.size[0]));
    expect(value('channel-mode')).toBe(starter.manifest.input.channelMode);
    expect(value('label-map')).toBe('/tmp/staging/run-7/label-map.json');
    expect(flags(argv)).not.toContain('init');
    expect(flags(argv)).not.toContain('replay');
    expect(flags(argv)).not.toContain('anchor');
  });

  it("a 3D task: --dims 3 with the patch and spacing, the modality's normalisation, no 2D input rule and no 2D starter to start from", () => {
    const volume = {
      patch: [32, 64, 64],
      spacing: [2.5, 1.5, 1.5],
      normalization: { type: 'window', center: 40, width: 400 } as const,
    };
    const hp = { ...DEFAULT_HYPERPARAMETERS, ...FIRST_MODEL_HYPERPARAMETERS, init: 'scratch' as const, width: 8 };
    const argv = trainerArgv('train', trainRecipe(run({ parent: null, base: null, multiClass: true, hp, volume })));
    const value = (name: string) => argv[argv.indexOf(`--${name}`) + 1];
    expect(value('width')).toBe('8');
    // Labels without a side: mirrored left-right only (never up-down), first model and fine-tune alike.
    expect(flags(argv)).toContain('mirror-only');
    expect(flags(argv)).not.toContain('no-flip');
    expect([value('dims'), value('patch'), value('spacing'), value('normalization')]).toEqual([
      '3',
      '32,64,64',
      '2.5,1.5,1.5',
      'window:40,400',
    ]);
    expect(flags(argv)).not.toContain('size');
    expect(flags(argv)).not.toContain('channel-mode');
    expect(flags(argv)).not.toContain('init-from');
    // A fine-tune of a 3D parent keeps the parent's patch and spacing (passed as they are).
    const ft = trainerArgv('train', trainRecipe(run({ multiClass: true, volume })));
    expect(ft[ft.indexOf('--spacing') + 1]).toBe('2.5,1.5,1.5');
    expect(flags(ft)).not.toContain('normalization');
    expect(flags(ft)).not.toContain('width'); // the trainer reads the parent's from its weights
    expect(flags(ft)).toContain('mirror-only');
    // Labels with a side (the demo CT's kidneys): no flips at all.
    const organs = { id: 4, name: 'Abdomen CT', labels: ['Liver', 'Spleen', 'Right kidney', 'Left kidney'].map(label) };
    for (const argv3d of [
      trainerArgv('train', trainRecipe(run({ task: organs, parent: null, base: null, multiClass: true, hp, volume }))),
      trainerArgv('train', trainRecipe(run({ task: organs, multiClass: true, volume }))),
    ]) {
      expect(flags(argv3d)).toContain('no-flip');
      expect(flags(argv3d)).not.toContain('mirror-only');
    }
  });

  it('a 2D task whose labels have a side: --no-flip for its first model and its fine-tunes, never --mirror-only', () => {
    const organs = { id: 4, name: 'Abdomen CT', labels: ['Liver', 'Spleen', 'Right kidney', 'Left kidney'].map(label) };
    const first = { ...DEFAULT_HYPERPARAMETERS, ...FIRST_MODEL_HYPERPARAMETERS, init: 'starter' as const };
    const firstArgv = trainerArgv('train', trainRecipe(run({ task: organs, parent: null, multiClass: true, hp: first })));
    expect(flags(firstArgv)).toContain('no-flip');
    expect(flags(firstArgv)).not.toContain('mirror-only');
    expect(flags(firstArgv)).not.toContain('dims'); // still a 2D run
    const fineTune = trainerArgv('train', trainRecipe(run({ task: organs, multiClass: true, hp: everything })));
    expect(flags(fineTune)).toContain('no-flip');
    expect(flags(fineTune)).not.toContain('mirror-only');
    // By the code alone: a label renamed "Kidney A" that kept SNOMED CT 9846003 (Right kidney).
    const renamed = { ...organs, labels: [{ name: 'Kidney A', type: label('Right kidney', 1).type }] };
    expect(flags(trainerArgv('train', trainRecipe(run({ task: renamed, multiClass: true }))))).toContain('no-flip');
    // A task without a side keeps its recipe: the first model mirrors left-right only, a fine-tune uses every flip.
    const lesion = { id: 1, name: 'Breast lesion', labels: [label('lesion', 1)] };
    const usFirst = trainerArgv('train', trainRecipe(run({ task: lesion, parent: null, multiClass: true, hp: first })));
    expect(flags(usFirst)).toContain('mirror-only');
    expect(flags(usFirst)).not.toContain('no-flip');
    expect(flags(trainerArgv('train', trainRecipe(run({ task: lesion }))))).not.toContain('no-flip');
  });

  it('refuses an option the trainer does not list, naming it', () => {
    const recipe = { ...trainRecipe(run({})), 'learning-rate': 0.01 };
    expect(() => trainerArgv('train', recipe)).toThrow(
      /train command refuses this recipe \(resources\/trainer\/lgms_trainer\/options\.json\): it has no option --learning-rate/,
    );
  });

  it('refuses a value of the wrong type, outside its choices, or a missing required option', () => {
    const recipe = trainRecipe(run({}));
    expect(() => trainerArgv('train', { ...recipe, 'max-steps': 1.5 })).toThrow(/--max-steps:/);
    expect(() => trainerArgv('train', { ...recipe, optimizer: 'adam' })).toThrow(/--optimizer:/);
    expect(() => trainerArgv('train', { ...recipe, 'freeze-norm': 'yes' })).toThrow(/--freeze-norm:/);
    expect(() => trainerArgv('train', { ...recipe, out: undefined })).toThrow(/--out:/);
  });

  it('leaves out unset options and flags set false, so the trainer applies its own default', () => {
    expect(trainerArgv('evaluate', { model: '/m', data: '/d', onnx: false, threshold: undefined })).toEqual([
      '-m',
      'lgms_trainer',
      'evaluate',
      '--model',
      '/m',
      '--data',
      '/d',
    ]);
  });
});

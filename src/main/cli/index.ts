// `lgms`: the same backend with no window, for scripts and for machines without a display.
import path from 'node:path';
import { createBackend, type Backend } from '../backend';
import { checkOutputFolder, segmentToFolder } from './segment';
import { exportCommand, isExportFormat } from './export';
import { createTask, formatTask, parseCreate, resolveTask } from './task';
import { defaultUserDataDir, resolveDataDir, withoutDataDirArgs } from '../data-dir';
import { appVersion } from '../paths';
import { serve } from '../server';
import type { ImportReport, SettingsPatch } from '../../shared/contract';
import { unwrap } from '../../shared/contract/client';
import type { Result } from '../../shared/result';

interface Command {
  summary: string;
  usage: string;
  run(args: string[], backend: () => Backend): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'start the headless server and print a URL to open in a browser',
    usage: 'lgms serve [--port N] [--data-dir DIR]',
    run: async (args) => {
      await serve(args);
      return -1; // keeps running until SIGINT/SIGTERM
    },
  },
  info: {
    summary: 'print versions, data folder, execution providers and trainer status as JSON',
    usage: 'lgms info [--data-dir DIR]',
    run: async (_args, backend) => {
      const b = backend();
      await b.api.system.refreshTrainer();
      print(await b.api.system.getInfo());
      return 0;
    },
  },
  import: {
    summary: 'import folders, files or a DICOMDIR into the study database and print the report',
    usage: 'lgms import <path> [<path> …] [--data-dir DIR] [--json]',
    run: async (args, backend) => {
      const paths = withoutDataDirArgs(args).filter((a) => a !== '--json');
      if (paths.length === 0) throw new UsageError('name at least one folder or file');
      const b = backend();
      // A shell user means paths relative to their own folder; the service takes only full paths.
      const started = await b.api.import.start({ paths: paths.map((p) => path.resolve(p)) });
      if (!started.ok) return print(started);
      const { jobId } = started.value;
      const off = b.events.on('onDidImportProgress', (p) => {
        if (!process.stderr.isTTY) return;
        const eta = p.etaSeconds !== undefined ? `, ~${p.etaSeconds} s left` : '';
        process.stderr.write(
          `\r${p.phase}: ${p.filesImported + p.filesDuplicate + p.filesSkipped + p.filesFailed}/${p.filesSeen} files${eta}   `,
        );
      });
      const job = await b.importer.wait(jobId);
      off();
      if (process.stderr.isTTY) process.stderr.write('\n');
      const report = unwrap(await b.api.import.report({ jobId, limit: 10_000 }));
      if (args.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(formatImportReport(report));
      return job.status === 'done' ? 0 : 1;
    },
  },
  segment: {
    summary: 'segment files or folders with the active model and write PNG masks',
    usage: 'lgms segment <file|folder> … --out <folder> [--task NAME] [--tta 0|2|4] [--data-dir DIR]',
    run: async (args, backend) => {
      const rest = withoutDataDirArgs(args);
      const take = (flag: string) => takeFlag(rest, flag);
      const out = take('--out');
      const tta = take('--tta');
      const taskName = take('--task');
      if (!out) throw new UsageError('--out <folder> is required');
      if (rest.length === 0) throw new UsageError('name at least one file or folder');
      if (tta !== undefined && !['0', '2', '4'].includes(tta)) throw new UsageError('--tta must be 0, 2 or 4');
      checkOutputFolder(rest, out); // before the data folder is opened: a refused run changes nothing
      const b = backend();
      const flips = tta === undefined ? undefined : (Number(tta) as 0 | 2 | 4);
      const task = taskName === undefined ? undefined : await resolveTask(b, taskName);
      const summary = await segmentToFolder(b, rest, path.resolve(out), flips, (line) => process.stderr.write(line + '\n'), task);
      process.stdout.write(
        `${summary.masks} masks from ${summary.series} series written to ${path.resolve(out)} (model ${summary.model} on ${summary.provider})\n` +
          summary.skipped.map((s) => `  not imported ${s.path}: ${s.reason}\n`).join('') +
          summary.failed.map((s) => `  not segmented ${s.path}: ${s.reason}\n`).join(''),
      );
      // Nothing written is a failure a script must see; some images missing is reported above.
      return summary.masks > 0 ? 0 : 1;
    },
  },
  export: {
    summary: "export final labels (or the active model's predictions) as DICOM SEG, NIfTI, PNG or an nnU-Net dataset",
    usage:
      'lgms export <folder|file|study or series UID> --format seg|nifti|png|nnunet --out <folder> [--task NAME|ID] [--data-dir DIR]',
    run: async (args, backend) => {
      const rest = withoutDataDirArgs(args);
      const take = (flag: string) => takeFlag(rest, flag);
      const format = take('--format') ?? 'seg';
      const out = take('--out');
      const task = take('--task');
      if (!isExportFormat(format)) throw new UsageError('--format must be seg, nifti, png or nnunet');
      if (!out) throw new UsageError('--out <folder> is required');
      if (rest.length !== 1) throw new UsageError('name one folder, file, study UID or series UID');
      const { lines, code } = await exportCommand(
        backend(),
        { target: rest[0]!, format, outDir: out, ...(task ? { task } : {}) },
        (line) => process.stderr.write(line + '\n'),
      );
      process.stdout.write(lines.join('\n') + '\n');
      return code;
    },
  },
  task: {
    summary: 'list the tasks, show one, or create one with its labels',
    usage:
      'lgms task list | show NAME | create NAME --labels a,b,… --modalities US[,CT…] [--photometric MONOCHROME2,RGB] [--body-part TEXT] [--kind 2d|2.5d|3d] [--data-dir DIR]',
    run: async (args, backend) => {
      const rest = withoutDataDirArgs(args);
      const [verb = 'list', ...more] = rest;
      const take = (flag: string) => takeFlag(more, flag);
      const json = more.includes('--json');
      const words = more.filter((a) => a !== '--json');
      const b = () => backend();
      if (verb === 'list') {
        const tasks = unwrap(await b().api.tasks.list());
        process.stdout.write(json ? JSON.stringify(tasks, null, 2) + '\n' : tasks.map(formatTask).join('\n') + '\n');
        return 0;
      }
      if (verb === 'show') {
        if (words.length === 0) throw new UsageError('name the task');
        const task = await resolveTask(b(), words.join(' '));
        process.stdout.write(json ? JSON.stringify(task, null, 2) + '\n' : formatTask(task) + '\n');
        return 0;
      }
      if (verb === 'create') {
        const c = parseCreate(words, (flag) => takeFlag(words, flag));
        if (!c.name) throw new UsageError('name the task');
        if (c.labels.length === 0) throw new UsageError('--labels a,b,… is required (at least one label)');
        if (c.modalities.length === 0) throw new UsageError('--modalities is required, e.g. US or CT,MR');
        if (!c.modelKind) throw new UsageError('--kind is 2d, 2.5d or 3d (the kind of model the task trains)');
        const task = await createTask(b(), c);
        process.stdout.write(formatTask(task) + '\n');
        return 0;
      }
      void take;
      throw new UsageError(`unknown task verb "${verb}"`);
    },
  },
  train: {
    summary: "train a task's model on its labels: its first model, or a fine-tune of its active version",
    usage:
      'lgms train [--task NAME] [--init starter|scratch] [--max-steps N] [--size N] [--confirm-series ID,…] [--data-dir DIR]',
    run: async (args, backend) => {
      const rest = withoutDataDirArgs(args);
      const take = (flag: string) => takeFlag(rest, flag);
      const taskName = take('--task');
      const init = take('--init');
      const maxSteps = take('--max-steps');
      const size = take('--size');
      const confirm = take('--confirm-series');
      if (init !== undefined && init !== 'starter' && init !== 'scratch')
        throw new UsageError('--init must be starter or scratch');
      const b = backend();
      const task = taskName === undefined ? undefined : await resolveTask(b, taskName);
      const started = await b.api.training.start({
        ...(task ? { taskId: task.id } : {}),
        ...(init ? { init } : {}),
        ...(maxSteps ? { maxSteps: Number(maxSteps) } : {}),
        ...(size ? { size: Number(size) } : {}),
        ...(confirm ? { confirmSeriesIds: confirm.split(',').map(Number) } : {}),
      });
      if (!started.ok) return print(started);
      process.stderr.write(`run ${started.value.id} queued\n`);
      const done = await b.training.waitFor(started.value.id);
      print({ ok: true, value: done });
      return done.status === 'done' ? 0 : 1;
    },
  },
  settings: {
    summary: 'show settings, or change them: lgms settings set key=value …',
    usage: 'lgms settings [get | set key=value … | reset]',
    run: async (args, backend) => {
      const b = backend();
      const [verb = 'get', ...rest] = withoutDataDirArgs(args);
      if (verb === 'get') return print(await b.api.settings.get());
      if (verb === 'reset') return print(await b.api.settings.reset());
      if (verb !== 'set') throw new UsageError(`unknown settings verb "${verb}"`);
      const patch: Record<string, unknown> = {};
      for (const pair of rest) {
        const eq = pair.indexOf('=');
        if (eq < 1) throw new UsageError(`expected key=value, got "${pair}"`);
        patch[pair.slice(0, eq)] = parseValue(pair.slice(eq + 1));
      }
      // Typed only as far as the command line allows: the contract's schema checks it at the call.
      return print(await b.api.settings.update(patch as SettingsPatch));
    },
  },
};

class UsageError extends Error {}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Removes `flag` and its value from `args` and returns the value; undefined when the flag is absent. */
function takeFlag(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const [, value] = args.splice(i, 2);
  if (value === undefined) throw new UsageError(`${flag} needs a value`);
  return value;
}

function print(result: Result<unknown>): number {
  if (result.ok) {
    process.stdout.write(JSON.stringify(result.value, null, 2) + '\n');
    return 0;
  }
  process.stderr.write(`error (${result.error.code}): ${result.error.message}\n`);
  if (result.error.details) process.stderr.write(JSON.stringify(result.error.details, null, 2) + '\n');
  return 1;
}

function formatImportReport(r: ImportReport): string {
  const lines = [
    `${r.job.title}: ${r.job.status}${r.job.error ? ` — ${r.job.error}` : ''}`,
    `  imported ${r.counts.imported}, duplicates ${r.counts.duplicate}, skipped ${r.counts.skipped}, failed ${r.counts.failed}` +
      (r.progress ? `; ${r.progress.seriesIndexed} series indexed` : ''),
  ];
  for (const p of r.problems) lines.push(`  ${p.status.padEnd(7)} ${p.path}: ${p.reason}`);
  for (const n of r.notes) lines.push(`  note    ${n.path}: ${n.reason}`);
  return lines.join('\n') + '\n';
}

function help(): string {
  const lines = [
    `lgms ${appVersion()} — LGMS Workstation without a window`,
    '',
    'Usage: lgms <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
    '',
    'Options:',
    "  --data-dir DIR   data folder (default: LGMS_DATA_DIR, else the desktop app's folder)",
    '  --help, -h       this help; `lgms <command> --help` for one command',
    '  --version        print the version',
  ];
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return 0;
  }
  if (name === '--version') {
    process.stdout.write(appVersion() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`lgms: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  let backend: Backend | undefined;
  // One-shot commands never resume queued jobs; only those that segment start the inference worker.
  const lazyBackend = () =>
    (backend ??= createBackend({
      dataDir: resolveDataDir(args, process.env, defaultUserDataDir()),
      transport: 'http',
      inference: name === 'segment' || name === 'info' || name === 'export',
      resumeJobs: false,
    }));
  try {
    return await command.run(args, lazyBackend);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`lgms ${name}: ${e.message}\n${command.usage}\n`);
      return 2;
    }
    process.stderr.write(`lgms ${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    if (name !== 'serve' && backend) {
      // The inference worker may still be creating its onnxruntime session (a command that never
      // needed it, such as an export of labels): terminating the thread in the middle of that
      // aborts the process ("terminate called after throwing an instance of 'Napi::Error'", seen
      // in tests/integration/recovery-kill.test.ts). Close once the load has settled.
      await backend.ready.catch(() => undefined);
      await backend.close();
    }
  }
}

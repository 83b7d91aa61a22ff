// Command line for the demo data:
//   npx tsx src/main/demo/cli.ts pairs   --out DIR --count N --seed S --domain base|shifted [--size 256] [--anatomy breast|thyroid|mixed]
//   npx tsx src/main/demo/cli.ts dicom   --out DIR --patients N --images M --seed S --domain base|shifted [--size 256]
//   npx tsx src/main/demo/cli.ts preview --out FILE.png [--seed S] [--count 8] [--size 256]
//   npx tsx src/main/demo/cli.ts ct      --out DIR --seed S --domain base|shifted [--size 128] [--slices 48] [--index 0]

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnatomyKind } from './anatomy';
import { renderPreview, writeCtPhantomSeries, writeDemoStudies, writeFileAtomic, writePngPairs } from './index';
import { DOMAINS, type Domain } from './scanner';

const USAGE = `usage:
  cli.ts pairs   --out DIR --count N --seed S --domain base|shifted [--size 256] [--anatomy breast|thyroid|mixed]
  cli.ts dicom   --out DIR --patients N --images M --seed S --domain base|shifted [--size 256] [--anatomy ...]
  cli.ts preview --out FILE.png [--seed S] [--count 8] [--size 256] [--anatomy ...]
  cli.ts ct      --out DIR --seed S --domain base|shifted [--size 128] [--slices 48] [--index 0]
                 (a CT phantom volume: DIR/dicom/… and its label maps in DIR/ground-truth/…)`;

export class UsageError extends Error {
  override name = 'UsageError';
}

function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const key = args[i] ?? '';
    const value = args[i + 1];
    if (!key.startsWith('--') || value === undefined || value.startsWith('--'))
      throw new UsageError(`bad argument near '${key}'`);
    flags.set(key.slice(2), value);
    i++;
  }
  return flags;
}

function intFlag(flags: Map<string, string>, name: string, fallback?: number): number {
  const raw = flags.get(name);
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(v)) throw new UsageError(`--${name} must be an integer, got '${raw}'`);
  return v;
}

function domainFlag(flags: Map<string, string>): Domain {
  const raw = flags.get('domain') ?? 'base';
  const d = DOMAINS.find((x) => x === raw);
  if (!d) throw new UsageError(`--domain must be base or shifted, got '${raw}'`);
  return d;
}

function anatomyFlag(flags: Map<string, string>): AnatomyKind | 'mixed' {
  const raw = flags.get('anatomy') ?? 'breast';
  if (raw !== 'breast' && raw !== 'thyroid' && raw !== 'mixed')
    throw new UsageError(`--anatomy must be breast, thyroid or mixed`);
  return raw;
}

function outFlag(flags: Map<string, string>): string {
  const out = flags.get('out');
  if (!out) throw new UsageError('--out is required');
  return path.resolve(out);
}

/** Runs one command; returns the one-line summary. */
export async function runCli(argv: readonly string[]): Promise<string> {
  const [command, ...rest] = argv;
  const flags = parseFlags(rest);
  const started = performance.now();
  const seconds = (): string => ((performance.now() - started) / 1000).toFixed(1);
  switch (command) {
    case 'pairs': {
      const out = outFlag(flags);
      const domain = domainFlag(flags);
      const size = intFlag(flags, 'size', 256);
      const seed = intFlag(flags, 'seed');
      const r = await writePngPairs(out, { count: intFlag(flags, 'count'), seed, domain, size, anatomy: anatomyFlag(flags) });
      return `wrote ${r.items.length} ${domain} image/mask pairs (${size}×${size}, seed ${seed}) and dataset.json to ${out} in ${seconds()} s`;
    }
    case 'dicom': {
      const out = outFlag(flags);
      const domain = domainFlag(flags);
      const patients = intFlag(flags, 'patients');
      const files = await writeDemoStudies(out, {
        patients,
        imagesPerSeries: intFlag(flags, 'images'),
        seed: intFlag(flags, 'seed'),
        domain,
        size: intFlag(flags, 'size', 256),
        anatomy: anatomyFlag(flags),
      });
      return `wrote ${files.length} ${domain} DICOM images in ${patients} studies to ${out} in ${seconds()} s`;
    }
    case 'preview': {
      const out = outFlag(flags);
      await mkdir(path.dirname(out), { recursive: true });
      const png = renderPreview({
        seed: intFlag(flags, 'seed', 1),
        perDomain: intFlag(flags, 'count', 8),
        size: intFlag(flags, 'size', 256),
        anatomy: anatomyFlag(flags),
      });
      await writeFileAtomic(out, png);
      return `wrote preview (base and shifted images with masks) to ${out} in ${seconds()} s`;
    }
    case 'ct': {
      const out = outFlag(flags);
      const domain = domainFlag(flags);
      const seed = intFlag(flags, 'seed');
      const size = intFlag(flags, 'size', 128);
      const slices = intFlag(flags, 'slices', 48);
      try {
        await writeCtPhantomSeries({
          dicomDir: path.join(out, 'dicom'),
          groundTruthDir: path.join(out, 'ground-truth'),
          seed,
          index: intFlag(flags, 'index', 0),
          domain,
          size,
          slices,
        });
      } catch (err) {
        if (err instanceof RangeError) throw new UsageError(err.message);
        throw err;
      }
      return `wrote a ${size}×${size}×${slices} ${domain} CT phantom (seed ${seed}) with its label maps to ${out} in ${seconds()} s`;
    }
    default:
      throw new UsageError(command ? `unknown command '${command}'` : 'no command');
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runCli(process.argv.slice(2)).then(
    (line) => console.log(line),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`${err.message}\n${USAGE}`);
        process.exitCode = 2;
      } else {
        console.error(err instanceof Error ? err.message : err);
        process.exitCode = 1;
      }
    },
  );
}

// Benchmark: the two ways the content store can keep 1,000 imported 128 KB files, in the same
// run — a file of its own per image (ContentStore.put) against appending to one pack
// (PackWriter.append) — each into a fresh store folder, removed after the round; medians.
// Creating a file costs kernel time that appending does not, and how much varies with the file
// system's state (see docs/benchmarks.md): the reason DICOM images go to packs
// (src/main/store/content-store.ts).
// Run: npx tsx tests/bench/store-write.ts [--files 1000] [--rounds 5]
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentStore } from '../../src/main/store/content-store';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => Number(args[args.indexOf(`--${name}`) + 1] ?? fallback) || fallback;
const FILES = arg('files', 1000);
const ROUNDS = arg('rounds', 5);
const work = path.join(ROOT, '.tmp', 'bench', 'store-write');

const files = Array.from({ length: FILES }, () => new Uint8Array(randomBytes(128 * 1024)));
const hashes = files.map((f) => ContentStore.hash(f));

function timed(name: string, body: (store: ContentStore) => void): number {
  const dir = path.join(work, name);
  rmSync(dir, { recursive: true, force: true });
  const store = new ContentStore(dir);
  const t0 = performance.now();
  body(store);
  const ms = performance.now() - t0;
  rmSync(dir, { recursive: true, force: true });
  return (ms * 1000) / FILES;
}

const perFile: number[] = [];
const packed: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  perFile.push(timed('files', (store) => files.forEach((f, i) => store.put(f, hashes[i]))));
  packed.push(
    timed('pack', (store) => {
      const pack = store.openPack();
      for (const f of files) pack.append(f);
      pack.close();
    }),
  );
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
process.stdout.write(
  [
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, node ${process.versions.node}; ${FILES} files of 128 KB, ${ROUNDS} rounds`,
    `a file per image (ContentStore.put): median ${median(perFile).toFixed(0)} µs/file (rounds ${perFile.map((v) => v.toFixed(0)).join(', ')})`,
    `appended to a pack (PackWriter.append): median ${median(packed).toFixed(0)} µs/file (rounds ${packed.map((v) => v.toFixed(0)).join(', ')})`,
    `ratio: ${(median(perFile) / median(packed)).toFixed(1)}×`,
  ].join('\n') + '\n',
);

// Benchmark: publishing, listing and adopting a model version through a shared folder (issue 26),
// with the shipped starter (model.onnx + weights.pt + sets, ~19 MB, 200 files): two data folders
// and one share on the same disk (a network share adds its own transfer time), in-process backends
// without inference. Publish = hash the version, copy it staged, write publication.json, rename;
// list = read every publication.json and stat its files (no hashing); adopt = copy in, hash the
// copy, register (B has no model of the task, so no gate runs: that is the gate's own figure).
// Run: npx tsx tests/bench/model-share.ts [--versions 10] [--rounds 3]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { hashVersion } from '../../src/main/models/content-hash';
import { copyModelFolder } from '../../src/main/models/transfer';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => Number(args[args.indexOf(`--${name}`) + 1] ?? fallback) || fallback;
const VERSIONS = arg('versions', 10);
const ROUNDS = arg('rounds', 3);
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const work = path.join(ROOT, '.tmp', 'bench', 'model-share');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function round(r: number): Promise<{ hash: number; publish: number; list: number; adopt: number }> {
  rmSync(work, { recursive: true, force: true });
  const share = path.join(work, 'share');
  mkdirSync(share, { recursive: true });
  const a = createBackend({ dataDir: path.join(work, 'a'), transport: 'http', inference: false });
  // B has no model of the task, so its gate has nothing to compare with and starts no worker.
  const b = createBackend({
    dataDir: path.join(work, 'b'),
    transport: 'http',
    inference: false,
    modelsDir: path.join(work, 'none'),
  });
  try {
    await a.services.settings.update({ modelShareFolder: share });
    await b.services.settings.update({ modelShareFolder: share });
    const ids: number[] = [];
    for (let v = 0; v < VERSIONS; v++) {
      // Each version differs in model.json only, so each has its own content hash.
      const dir = copyModelFolder(STARTER, path.join(work, `v${v}`)).dir;
      const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, id: `bench-${r}-${v}`, parent: 'lgmsnet-starter' }));
      ids.push((await a.services.models.importVersion({ folder: dir })).id);
    }
    let t = process.hrtime.bigint();
    await hashVersion(a.registry.get(ids[0]!).dir);
    const hash = ms(t);
    const publishes: number[] = [];
    for (const id of ids) {
      t = process.hrtime.bigint();
      await a.services.modelShare.publish({ id });
      publishes.push(ms(t));
    }
    await b.services.modelShare.list(); // warm: the first read of the share's folders
    t = process.hrtime.bigint();
    const listed = await b.services.modelShare.list();
    const list = ms(t);
    t = process.hrtime.bigint();
    const adopted = await b.services.modelShare.adopt({ contentHash: listed[0]!.contentHash });
    const adopt = ms(t);
    await b.modelShare.waitForGate(adopted.here!.versionId);
    return { hash, publish: median(publishes), list, adopt };
  } finally {
    a.close();
    b.close();
  }
}

const results: Awaited<ReturnType<typeof round>>[] = [];
for (let r = 0; r < ROUNDS; r++) results.push(await round(r));
rmSync(work, { recursive: true, force: true });
const col = (k: keyof Awaited<ReturnType<typeof round>>) => median(results.map((x) => x[k])).toFixed(0);
console.log(
  `versions ${VERSIONS}, rounds ${ROUNDS}: hash one version ${col('hash')} ms, publish one ${col('publish')} ms, ` +
    `list ${VERSIONS} ${col('list')} ms, adopt one (copy + hash + register) ${col('adopt')} ms`,
);
console.log(
  results
    .map((x) =>
      Object.values(x)
        .map((v) => v.toFixed(0))
        .join('/'),
    )
    .join('  '),
);

// Starts worker threads from the built sibling in out/main, or, when the backend runs from
// TypeScript sources (Vitest, tsx), from the source file through tsx's loader registered
// inside the worker (Node 20 does not apply a parent's --import loader to a worker's entry).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { appRoot } from './paths';

const SOURCES = {
  'import-worker': 'src/main/import/worker.ts',
  'import-reader': 'src/main/import/reader.ts',
  'inference-worker': 'src/main/inference/worker.ts',
} as const;
export type WorkerName = keyof typeof SOURCES;

export function startWorker(name: WorkerName, options: WorkerOptions): Worker {
  const fromSource = fileURLToPath(import.meta.url).endsWith('.ts');
  if (!fromSource) return new Worker(path.join(appRoot(), 'out', 'main', `${name}.js`), options);
  const source = pathToFileURL(path.join(appRoot(), SOURCES[name])).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

#!/usr/bin/env node
// The `lgms` command: runs the built backend (out/main/cli.js) in plain Node.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'out', 'main', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(`lgms: the backend is not built yet (${cli} is missing). Run: npm run build\n`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;

#!/usr/bin/env node
// `npm start`: make sure the Electron binary is there and better-sqlite3 is built for Electron's
// ABI, build the app, and launch it. Tests run the backend in plain Node, whose ABI differs, so
// the Electron build of better-sqlite3 lives in its own folder (.native/) and is passed to the
// backend by path (LGMS_SQLITE_BINDING → better-sqlite3's `nativeBinding`) — node_modules keeps
// the Node build and the two never overwrite each other.
//   --prepare-only  only the first two steps; prints LGMS_SQLITE_BINDING=… (for the Electron e2e test)
//   --dev           run electron-vite's dev server with hot reload instead of a build
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const args = process.argv.slice(2);
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);

function die(message) {
  process.stderr.write(`\nnpm start: ${message}\n`);
  process.exit(1);
}

function electronBinary() {
  const dir = path.dirname(require.resolve('electron/package.json'));
  const pathFile = path.join(dir, 'path.txt');
  if (existsSync(pathFile)) {
    const exe = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
    if (existsSync(exe)) return exe;
  }
  // Electron's own install script is not run by `npm install` (package.json allowScripts), so
  // machines that cannot reach its release host still install; fetch it now, when it is needed.
  process.stdout.write('Downloading the Electron binary (first start only)…\n');
  const r = spawnSync(process.execPath, [path.join(dir, 'install.js')], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0 || !existsSync(pathFile)) {
    die(
      'the Electron binary could not be downloaded. The desktop app needs it (set ELECTRON_MIRROR if you use a mirror).\n' +
        'Without it, `npm run serve` runs the same app in your browser.',
    );
  }
  return path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
}

/** Env without npm's build settings: a global `nodedir` would silently build against Node's headers. */
function cleanBuildEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env))
    if (/^npm_config_(nodedir|target|runtime|disturl|dist_url|arch|build_from_source)$/i.test(key)) delete env[key];
  return env;
}

function loadsInElectron(electron, binding) {
  const check = `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});new D(':memory:',{nativeBinding:${JSON.stringify(binding)}}).prepare('select 1').get()`;
  const r = spawnSync(electron, ['-e', check], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8' });
  return { ok: r.status === 0, error: (r.stderr || r.error?.message || '').trim() };
}

function sqliteForElectron(electron) {
  const version = require('electron/package.json').version;
  const target = path.join(root, '.native', `electron-${version}-${process.platform}-${process.arch}`, 'better_sqlite3.node');
  if (existsSync(target) && loadsInElectron(electron, target).ok) return target;

  process.stdout.write(`Building better-sqlite3 for Electron ${version} (first start only)…\n`);
  const src = path.dirname(require.resolve('better-sqlite3/package.json'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'lgms-sqlite-electron-'));
  try {
    cpSync(src, work, {
      recursive: true,
      filter: (p) => !p.includes(`${path.sep}build${path.sep}`) && !p.endsWith(`${path.sep}build`),
    });
    const env = cleanBuildEnv();
    // A prebuilt binary first (fast), then a compile against Electron's headers.
    const prebuilt = spawnSync(bin('prebuild-install'), ['--runtime', 'electron', '--target', version, '--arch', process.arch], {
      cwd: work,
      env,
      stdio: 'inherit',
    });
    if (prebuilt.status !== 0) {
      const gyp = spawnSync(
        bin('node-gyp'),
        [
          'rebuild',
          '--release',
          '--runtime=electron',
          `--target=${version}`,
          `--arch=${process.arch}`,
          '--dist-url=https://electronjs.org/headers',
        ],
        { cwd: work, env, stdio: 'inherit' },
      );
      if (gyp.status !== 0) die('better-sqlite3 could not be built for Electron (see the compiler output above).');
    }
    const built = path.join(work, 'build', 'Release', 'better_sqlite3.node');
    const check = loadsInElectron(electron, built);
    if (!check.ok) {
      die(
        `the better-sqlite3 built for Electron does not load in Electron — most often it was built against Node's headers (a global npm "nodedir" setting):\n${check.error}`,
      );
    }
    mkdirSync(path.dirname(target), { recursive: true });
    cpSync(built, target + '.tmp');
    renameSync(target + '.tmp', target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const electron = electronBinary();
const binding = sqliteForElectron(electron);
if (args.includes('--prepare-only')) {
  process.stdout.write(`LGMS_SQLITE_BINDING=${binding}\n`);
  process.exit(0);
}
const env = { ...process.env, LGMS_SQLITE_BINDING: binding };
if (args.includes('--dev')) {
  process.exit(spawnSync(bin('electron-vite'), ['dev'], { cwd: root, env, stdio: 'inherit' }).status ?? 1);
}
const build = spawnSync(bin('electron-vite'), ['build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) die('the build failed (see above).');
const app = spawnSync(electron, [root, ...args], { cwd: root, env, stdio: 'inherit' });
process.exit(app.status ?? 0);

#!/usr/bin/env node
// `npm test`: lint, typecheck, build, then every test suite (Vitest: unit, integration, end-to-end;
// pytest: the trainer), and one closing line `N passed, N failed, N skipped` over all of them.
// Each check stage counts as one test; a stage that fails does not stop the others.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = path.join(root, '.tmp');
mkdirSync(tmp, { recursive: true });
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const only = process.argv.slice(2); // e.g. `npm test -- vitest` runs just that stage

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
/** Skipped tests and suites with the reason their name gives (`— skipped: reason`, tests/helpers/skip.ts). */
const skips = [];
const SKIP_MARK = '— skipped:';

function run(label, command, args, options = {}) {
  process.stdout.write(`\n=== ${label}: ${[path.basename(command), ...args].join(' ')}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  process.stdout.write(`=== ${label}: ${ok ? 'ok' : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds} s\n`);
  return ok;
}

function stage(label, command, args) {
  if (only.length && !only.includes(label)) return;
  if (run(label, command, args)) passed++;
  else {
    failed++;
    failures.push(label);
  }
}

function findPythonWithTorch() {
  const candidates = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch, numpy, PIL'], { stdio: 'ignore' });
    if (probe.status === 0) return python;
  }
  return undefined;
}

// A fresh machine gathers its own fixtures and test tools first (setup.sh is idempotent and
// quick when all is there). Without root or password-less sudo it stops at once with the one
// command to run: nothing after it could pass without them.
if (!process.env.LGMS_SKIP_SETUP) {
  if (!run('fixtures', 'bash', [path.join(root, 'tests', 'fixtures', 'setup.sh')])) {
    process.stdout.write(
      '\nThe test fixtures and tools could not be gathered (see above); nothing was tested.\n0 passed, 1 failed, 0 skipped\n',
    );
    process.exit(1);
  }
}

stage('lint', bin('eslint'), ['.']);
// Formatting as a gate (issue 24): every file prettier reads must be formatted. `npm test -- format`
// runs it alone; `npm run format` fixes what it finds.
stage('format', bin('prettier'), ['--check', '.']);
stage('typecheck', bin('tsc'), ['-p', 'tsconfig.json']);
stage('svelte-check', bin('svelte-check'), ['--tsconfig', 'tsconfig.web.json', '--threshold', 'error', '--fail-on-warnings']);
stage('build', bin('electron-vite'), ['build']);

if (!only.length || only.includes('vitest')) {
  const report = path.join(tmp, 'vitest.json');
  rmSync(report, { force: true });
  const ok = run('vitest', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile=${report}`]);
  const failedBefore = failed;
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    // A suite that failed to load has no tests to count: count it as a failure.
    const broken = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0);
    failed += broken.length;
    for (const f of r.testResults) {
      for (const a of f.assertionResults)
        if (a.status === 'pending' || a.status === 'skipped' || a.status === 'todo') {
          const suite = [...(a.ancestorTitles ?? [])].reverse().find((t) => t.includes(SKIP_MARK));
          skips.push(`${path.relative(root, f.name)} › ${suite ?? a.fullName}`);
        }
      for (const a of f.assertionResults)
        if (a.status === 'failed') failures.push(`${path.relative(root, f.name)} › ${a.fullName}`);
      if (f.status === 'failed' && f.assertionResults.length === 0)
        failures.push(`${path.relative(root, f.name)} (did not load: ${f.message})`);
    }
  } else {
    failed++;
    failures.push(`vitest (no report; exit ${ok ? 0 : 'non-zero'})`);
  }
  // Every test passed but Vitest still failed: an unhandled error, which can hide a real failure.
  if (!ok && failed === failedBefore) {
    failed++;
    failures.push('vitest exited non-zero with every test passing: an unhandled error (see "Unhandled Errors" above)');
  }
}

if (!only.length || only.includes('trainer')) {
  const testsDir = path.join(root, 'resources', 'trainer', 'tests');
  const python = findPythonWithTorch();
  if (!existsSync(testsDir)) {
    // nothing to run yet
  } else if (!python) {
    skipped++;
    skips.push('trainer (pytest) — skipped: no Python with torch, numpy and PIL');
    process.stdout.write(
      '\n=== trainer: skipped — no Python with torch, numpy and PIL (apt-get install python3-torch python3-numpy python3-pil)\n',
    );
  } else {
    const xml = path.join(tmp, 'pytest.xml');
    rmSync(xml, { force: true });
    run('trainer', python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${xml}`, testsDir], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    if (existsSync(xml)) {
      const text = readFileSync(xml, 'utf8');
      const suite = /<testsuite\b[^>]*>/.exec(text)?.[0] ?? '';
      const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
      const bad = attr('failures') + attr('errors');
      passed += attr('tests') - bad - attr('skipped');
      failed += bad;
      skipped += attr('skipped');
      if (bad) failures.push(`trainer: ${bad} pytest failure(s)`);
      // pytest writes each skip's reason as <skipped message="…">.
      for (const m of text.matchAll(/<testcase\b[^>]*\bname="([^"]*)"[^>]*>\s*<skipped\b(?:[^>]*?\bmessage="([^"]*)")?/g))
        skips.push(`trainer › ${m[1]}${m[2] ? ` ${SKIP_MARK} ${m[2]}` : ''}`);
    } else {
      failed++;
      failures.push('trainer (pytest wrote no report)');
    }
  }
}

if (skips.length) {
  // One line per skipped suite (its tests share the reason), each naming why. A skip that does
  // not say why counts as a failure: a missing input must not pass unnoticed.
  const bySuite = new Map();
  for (const name of skips) {
    const key = name.includes(SKIP_MARK) ? name : `${name} — skipped (its name gives no reason)`;
    bySuite.set(key, (bySuite.get(key) ?? 0) + 1);
    if (!name.includes(SKIP_MARK)) {
      failed++;
      failures.push(`${name}: skipped without a reason in its name (use skipTitle from tests/helpers/skip.ts)`);
    }
  }
  process.stdout.write(`\nSkipped:\n${[...bySuite].map(([k, n]) => `  - ${k}${n > 1 ? ` (${n} tests)` : ''}`).join('\n')}\n`);
}
if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exit(failed > 0 ? 1 : 0);

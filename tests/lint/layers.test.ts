// The layer rule must fail the build on a deliberate violation, and pass clean code.
import { ESLint } from 'eslint';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const eslint = new ESLint({ cwd: root });

async function ruleIds(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('layer rule', () => {
  it.each([
    ["import { app } from 'electron';\nexport const a = app;", 'src/shared/x.ts', 'no-restricted-imports'],
    ["import fs from 'node:fs';\nexport const a = fs;", 'src/shared/x.ts', 'no-restricted-imports'],
    ["import fs from 'fs';\nexport const a = fs;", 'src/shared/x.ts', 'no-restricted-imports'],
    ['export const w = window.innerWidth;', 'src/shared/x.ts', 'no-restricted-globals'],
    ['export const d = document.title;', 'src/shared/x.ts', 'no-restricted-globals'],
    ["import { a } from '../renderer/lib/api';\nexport const b = a;", 'src/shared/x.ts', 'no-restricted-imports'],
    ["import { app } from 'electron';\nexport const a = app;", 'src/main/backend-x.ts', 'no-restricted-imports'],
    ["import { app } from 'electron';\nexport const a = app;", 'src/renderer/lib/x.ts', 'no-restricted-imports'],
    ["import fs from 'node:fs';\nexport const a = fs;", 'src/renderer/lib/x.ts', 'no-restricted-imports'],
    [
      "import { createBackend } from '../../main/backend';\nexport const a = createBackend;",
      'src/renderer/lib/x.ts',
      'no-restricted-imports',
    ],
  ])('flags %j in %s', async (code, file, rule) => {
    expect(await ruleIds(code, file)).toContain(rule);
  });

  it.each([
    ["import { app } from 'electron';\nexport const a = app;", 'src/main/electron/x.ts'],
    ["import { contextBridge } from 'electron';\nexport const a = contextBridge;", 'src/preload/x.ts'],
    ["import fs from 'node:fs';\nexport const a = fs;", 'src/main/x.ts'],
    ["import { ok } from '../result';\nexport const a = ok(1);", 'src/shared/contract/x.ts'],
  ])('allows %j in %s', async (code, file) => {
    expect(await ruleIds(code, file)).toEqual([]);
  });
});

describe('backend feature rule', () => {
  it.each([
    ["import { scanPaths } from '../import/scan';\nexport const a = scanPaths;", 'src/main/imaging/x.ts'],
    ["import { generatePhantom } from '../../demo/phantom';\nexport const a = generatePhantom;", 'src/main/imaging/raster/x.ts'],
    ["import { createBackend } from '../backend';\nexport const a = createBackend;", 'src/main/imaging/x.ts'],
    ["import { decodeDicom } from '../imaging/dicom';\nexport const a = decodeDicom;", 'src/main/store/x.ts'],
    ["import { ContentStore } from '../store/content-store';\nexport const a = ContentStore;", 'src/main/db/x.ts'],
    ["import { createBackend } from '../backend';\nexport const a = createBackend;", 'src/main/viewer/x.ts'],
    ["import { serve } from '../server';\nexport const a = serve;", 'src/main/import/x.ts'],
    ["import { app } from 'electron';\nexport const a = app;", 'src/main/imaging/x.ts'],
  ])('flags %j in %s', async (code, file) => {
    expect(await ruleIds(code, file)).toContain('no-restricted-imports');
  });

  it.each([
    ["import { ContentStore } from '../store/content-store';\nexport const a = ContentStore;", 'src/main/imaging/x.ts'],
    ["import { clamp } from '../../shared/imaging/window';\nexport const a = clamp;", 'src/main/db/x.ts'],
    ["import { decodeDicom } from '../imaging/dicom';\nexport const a = decodeDicom;", 'src/main/import/x.ts'],
    [
      "import { generatePhantom } from '../../demo/phantom';\nexport const a = generatePhantom;",
      'src/main/imaging/raster/x.test.ts',
    ],
  ])('allows %j in %s', async (code, file) => {
    expect(await ruleIds(code, file)).toEqual([]);
  });
});

// docs/architecture.md's floors table is the map; the rule must say the same. Each row's names
// (`db/` a folder, `paths.ts` a file directly under src/main) sit on that row's floor.
function floorsOfTheMap(): Map<string, number> {
  const doc = readFileSync(path.join(root, 'docs', 'architecture.md'), 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith("The backend's floors"));
  if (!section) throw new Error('docs/architecture.md has no section "The backend\'s floors"');
  const rows = section.split('\n').filter((l) => /^\|\s*\d+ /.test(l));
  const floors = new Map<string, number>();
  rows.forEach((row, floor) => {
    const cell = row.split('|')[2] ?? '';
    for (const [, name] of cell.matchAll(/`([^`]+)`/g)) floors.set(name!, floor);
  });
  return floors;
}

/** A folder or file directly under src/main as the map writes it: `db/` or `paths.ts`. */
function mainEntries(): string[] {
  return readdirSync(path.join(root, 'src', 'main'), { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
}

describe("the backend's floors (docs/architecture.md) and the rule", () => {
  const floors = floorsOfTheMap();

  it('the map has six floors, ground to hosts', () => {
    expect(new Set(floors.values())).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it('names every folder and file under src/main, and nothing that is not there', () => {
    const entries = mainEntries();
    expect(
      entries.filter((e) => !floors.has(e)),
      'under src/main but on no floor of docs/architecture.md',
    ).toEqual([]);
    expect(
      [...floors.keys()].filter((n) => !entries.includes(n)),
      'on a floor but not under src/main',
    ).toEqual([]);
  });

  // One probe file per importer, one import of every floor's entry per line: the rule must flag
  // exactly the lines that reach a higher floor.
  it.each([...floors.keys()])('%s imports only from its floor and below', async (from) => {
    const file = from.endsWith('/') ? `src/main/${from}layer-probe.ts` : `src/main/${from}`;
    const up = from.endsWith('/') ? '../' : './';
    const targets = [...floors.keys()].filter((t) => t !== from);
    const code = [
      ...targets.map((t, i) => `import { a${i} } from '${up}${t.endsWith('/') ? `${t}x` : t.replace(/\.ts$/, '')}';`),
      `export const all = [${targets.map((_, i) => `a${i}`).join(', ')}];`,
    ].join('\n');
    const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
    const flagged = new Set(
      (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => targets[m.line - 1]),
    );
    const above = targets.filter((t) => floors.get(t)! > floors.get(from)!);
    expect([...flagged].sort(), `imports ${from} may not make (floor ${floors.get(from)})`).toEqual(above.sort());
  });
});

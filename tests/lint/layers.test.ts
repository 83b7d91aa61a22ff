// The layer rule must fail the build on a deliberate violation, and pass clean code.
import { ESLint } from 'eslint';
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
    ["import { createBackend } from '../../main/backend';\nexport const a = createBackend;", 'src/renderer/lib/x.ts', 'no-restricted-imports'],
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
    ["import { generatePhantom } from '../../demo/phantom';\nexport const a = generatePhantom;", 'src/main/imaging/raster/x.test.ts'],
  ])('allows %j in %s', async (code, file) => {
    expect(await ruleIds(code, file)).toEqual([]);
  });
});

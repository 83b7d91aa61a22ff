import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { ContentStore } from './content-store';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256);

describe('content store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: ContentStore;
  beforeEach(() => {
    tmp = tempDir();
    store = new ContentStore(path.join(tmp.dir, 'store'));
  });
  afterEach(() => tmp.cleanup());

  it('keeps a whole copy, and writes again a copy a crash cut short', () => {
    const a = bytes(3000, 1);
    const first = store.put(a);
    expect(first).toMatchObject({ offset: null, written: true });
    expect(store.put(a)).toMatchObject({ relative: first.relative, written: false });
    truncateSync(store.absolute(first.relative), 100);
    expect(store.put(a)).toMatchObject({ written: true });
    expect(Array.from(store.read(first, a.length))).toEqual(Array.from(a));
  });

  it('appends files to a pack and reads each back by offset and size', () => {
    const files = [bytes(10, 2), bytes(0, 3), bytes(70_000, 4), bytes(1, 5)];
    const pack = store.openPack();
    const where = files.map((f) => pack.append(f));
    pack.close();
    expect(pack.packs).toHaveLength(1);
    expect(where.map((w) => w.offset)).toEqual([0, 10, 10, 70_010]);
    files.forEach((f, i) => expect(Array.from(store.read(where[i]!, f.length))).toEqual(Array.from(f)));
    expect(() => store.read({ relative: where[3]!.relative, offset: 70_010 }, 5)).toThrow(/ends before/);
  });

  it('sweeps only packs of dead processes that nothing refers to', () => {
    const pack = store.openPack();
    pack.append(bytes(5, 6));
    pack.close();
    const mine = pack.packs[0]!;
    const packs = store.absolute('packs');
    // A process id that is not running (the highest possible one), and another reference-kept one.
    writeFileSync(path.join(packs, 'abc-4194304-1-0.pack'), 'x');
    writeFileSync(path.join(packs, 'abc-4194304-1-1.pack'), 'x');
    const removed = store.sweepPacks((relative) => relative.endsWith('-1-1.pack'));
    expect(removed).toEqual([path.join('packs', 'abc-4194304-1-0.pack')]);
    expect(readdirSync(packs).sort()).toEqual([path.basename(mine), 'abc-4194304-1-1.pack'].sort());
    expect(existsSync(store.absolute(mine))).toBe(true); // this (live) process's own pack stays
  });

  it.skipIf(process.platform !== 'linux' && 'zombies are read from /proc')(
    'sweeps a pack of a killed import its parent has not reaped yet (a zombie)',
    async () => {
      // A parent that forks a child, lets it die and does not wait for it: the child stays a zombie,
      // as a `kill -9` from a script that has not waited leaves it. kill(pid, 0) still succeeds on it.
      const parent = spawn(
        'python3',
        ['-c', 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)'],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      try {
        const zombie = Number(
          await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))),
        );
        await new Promise((r) => setTimeout(r, 100));
        expect(() => process.kill(zombie, 0)).not.toThrow();
        const packs = store.absolute('packs');
        mkdirSync(packs, { recursive: true });
        const name = `${Date.now().toString(36)}-${zombie}-1-0.pack`;
        writeFileSync(path.join(packs, name), 'x');
        expect(store.sweepPacks(() => false)).toEqual([path.join('packs', name)]);
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  it('sweeps a pack whose process id now belongs to a process started after the pack was written', () => {
    const packs = store.absolute('packs');
    mkdirSync(packs, { recursive: true });
    // This test's parent (vitest's runner) started before now, so use a pack "written" long before it started.
    const name = `${(Date.now() - 10 * 365 * 86_400_000).toString(36)}-${process.ppid}-1-0.pack`;
    writeFileSync(path.join(packs, name), 'x');
    expect(store.sweepPacks(() => false)).toEqual(process.platform === 'linux' ? [path.join('packs', name)] : []);
  });
});

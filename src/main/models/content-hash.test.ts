// The content hash of a model version (content-hash.ts), checked against sha256sum computed
// outside Node: the stated order and line format, and that any changed byte, added, removed or
// renamed file changes it while files outside the version's parts do not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { hashVersion, versionFiles } from './content-hash';

const sha256sum = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;

describe('model version content hash', () => {
  let tmp: ReturnType<typeof tempDir>;
  let dir: string;
  beforeEach(() => {
    tmp = tempDir();
    dir = path.join(tmp.dir, 'v');
    mkdirSync(path.join(dir, 'reference', 'images'), { recursive: true });
    mkdirSync(path.join(dir, 'reference', 'masks'), { recursive: true });
    // Written out of order: the hash's order is the paths', not the disk's.
    writeFileSync(path.join(dir, 'reference', 'masks', 'b.png'), Buffer.from([1, 2, 3]));
    writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(1000, 7));
    writeFileSync(path.join(dir, 'model.json'), '{"id":"m"}\n');
    writeFileSync(path.join(dir, 'reference', 'images', 'b.png'), Buffer.from([9]));
    writeFileSync(path.join(dir, 'notes.txt'), 'not part of the version');
  });
  afterEach(() => tmp.cleanup());

  it('is SHA-256 over "<sha256> <size> <path>" lines in path order, as sha256sum gives them', async () => {
    const files = ['model.json', 'model.onnx', 'reference/images/b.png', 'reference/masks/b.png'];
    expect(versionFiles(dir)).toEqual(files);
    const sizes = [11, 1000, 1, 3];
    const listing = files.map((f, i) => `${sha256sum(path.join(dir, f))} ${sizes[i]} ${f}\n`).join('');
    const listFile = path.join(tmp.dir, 'listing.txt');
    writeFileSync(listFile, listing);
    const h = await hashVersion(dir);
    expect(h.files.map((f) => f.path)).toEqual(files);
    expect(h.files.map((f) => f.size)).toEqual(sizes);
    expect(h.contentHash).toBe(sha256sum(listFile));
    expect(h.contentHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with one changed byte, a missing, an added or a renamed file; not with files outside the version', async () => {
    const base = (await hashVersion(dir)).contentHash;
    writeFileSync(path.join(dir, 'notes.txt'), 'changed, but not part of the version');
    expect((await hashVersion(dir)).contentHash).toBe(base);

    const onnx = Buffer.alloc(1000, 7);
    onnx[500] = 8;
    writeFileSync(path.join(dir, 'model.onnx'), onnx);
    const changed = (await hashVersion(dir)).contentHash;
    expect(changed).not.toBe(base);
    writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(1000, 7));
    expect((await hashVersion(dir)).contentHash).toBe(base);

    renameSync(path.join(dir, 'reference', 'masks', 'b.png'), path.join(dir, 'reference', 'masks', 'c.png'));
    const renamed = (await hashVersion(dir)).contentHash;
    expect(renamed).not.toBe(base);
    rmSync(path.join(dir, 'reference', 'masks', 'c.png'));
    const missing = (await hashVersion(dir)).contentHash;
    expect(missing).not.toBe(base);
    writeFileSync(path.join(dir, 'weights.pt'), 'w');
    const added = (await hashVersion(dir)).contentHash;
    expect(new Set([base, changed, renamed, missing, added]).size).toBe(5);
  });
});

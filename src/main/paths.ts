// Where the app's own files are: resources (models, trainer) and the package root.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The folder holding our package.json (in a checkout or inside the packaged app's asar). */
export function appRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'lgms-workstation') {
      return (cachedRoot = dir);
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the app root (the package.json of lgms-workstation)');
    dir = parent;
  }
}

/** resources/ in a checkout, or LGMS_RESOURCES_DIR (set by the packaged app to its unpacked resources). */
export function resourcesDir(): string {
  return process.env.LGMS_RESOURCES_DIR ?? path.join(appRoot(), 'resources');
}

/** Models that come with the demo's CT volumes (the 3D starter), registered when they are loaded: resources/demo-models. */
export function demoModelsDir(): string {
  return path.join(resourcesDir(), 'demo-models');
}

export function appVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(appRoot(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

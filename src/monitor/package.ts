// This package's root folder and version, found from this module's place in src/, dist/src/ or the
// dist/cli.mjs bundle (the records carry the version; the report reads its viewer from the root).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: { dir: string; version: string } | null | undefined;

/** The folder of denet-pure's package.json and its version; null if it cannot be found. */
export function packageRoot(): { dir: string; version: string } | null {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'denet-pure') return (root = { dir, version: pkg.version ?? '0.0.0-unknown' });
    }
    dir = dirname(dir);
  }
  return (root = null);
}

export function packageVersion(): string {
  return packageRoot()?.version ?? '0.0.0-unknown';
}

// The committed corpus of clang-built BPF objects (test/_lib/objects/, see its README).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './workloads.js';

export const OBJECTS_DIR = join(ROOT, 'test/_lib/objects');

export interface CorpusEntry { object: string; path: string; repository: string; commit: string; source: string; license: string }

/** Every object of the corpus with its provenance (MANIFEST.tsv). */
export function corpusObjects(): CorpusEntry[] {
  const rows = readFileSync(join(OBJECTS_DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  const listed = rows.map(([object, repository, commit, source, license]) => ({ object: object!, path: join(OBJECTS_DIR, object!), repository: repository!, commit: commit!, source: source!, license: license! }));
  const files = readdirSync(OBJECTS_DIR).filter((f) => f.endsWith('.o')).sort();
  const missing = files.filter((f) => !listed.some((e) => e.object === f));
  if (missing.length > 0) throw new Error(`objects without a MANIFEST.tsv row: ${missing.join(', ')}`);
  return listed;
}

export const objectPath = (name: string): string => join(OBJECTS_DIR, name);

// The layer rule of docs/ARCHITECTURE.md, checked on the sources: a layer imports only lower ones.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { ROOT } from './_lib/workloads.js';

const test = suite('architecture');

const LAYER: Record<string, number> = {
  asm: 1, elf: 1, btf: 1, types: 1, flame: 1, object: 2, verify: 2, vm: 2, symbols: 2, loader: 3, syscalls: 3, tracer: 4, monitor: 5, diag: 5,
  session: 6, export: 6, policy: 6, report: 6, cli: 7,
};

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

const folderOf = (file: string): string => relative(join(ROOT, 'src'), file).split('/')[0]!;

test('no module imports from a higher layer (or a layer of the same rank beside it)', () => {
  const violations: string[] = [];
  let checked = 0;
  for (const file of sources(join(ROOT, 'src'))) {
    const from = folderOf(file);
    if (from === 'index.ts') continue;
    const fromLayer = LAYER[from];
    assert.ok(fromLayer !== undefined, `src/${from} is not in the layer table of docs/ARCHITECTURE.md`);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)) {
      const target = folderOf(resolve(dirname(file), m[1]!));
      checked++;
      if (target === from || target === 'types') continue;
      const toLayer = LAYER[target];
      if (toLayer === undefined || toLayer >= fromLayer) violations.push(`${relative(ROOT, file)} imports ${m[1]} (${from} → ${target})`);
    }
  }
  assert.ok(checked > 100, `imports were found (${checked})`);
  assert.equal(violations, []);
});

test('no import cycles among modules (a type-only import is erased and does not count)', () => {
  const graph = new Map<string, string[]>();
  for (const file of sources(join(ROOT, 'src'))) {
    if (file.endsWith('.d.ts')) continue;
    const deps: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)(?!\s+type\b)[^;]*?(?:from|import\()\s*'(\.[^']+)'/gms)) {
      deps.push(resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'));
    }
    graph.set(file, deps);
  }
  assert.ok(graph.size > 100, `${graph.size} modules`);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') cycles.push(path.slice(path.indexOf(d)).concat(d).map((x) => relative(ROOT, x)).join(' → '));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.equal(cycles, []);
});

test.run();

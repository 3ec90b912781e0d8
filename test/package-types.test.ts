// The published type declarations stand on their own: the README's library examples compile with
// a strict tsc that checks library declarations too (no skipLibCheck), against the package as built.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from './_lib/workloads.js';

const test = suite('package type declarations');

test("the README's TypeScript examples compile strictly against the built package", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 1, 'the README has TypeScript examples');
  const dir = mkdtempSync(join(tmpdir(), 'denet-types-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'denet-pure'));
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'));
    const files = blocks.map((code, i) => {
      const f = `example${i}.mts`;
      writeFileSync(join(dir, f), `export {};\n${code}`);
      return f;
    });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', types: ['node'], skipLibCheck: false },
      files,
    }));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
    assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the package ships no test data (corpus, fuzzer, objects, fixtures)', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  const files: string[] = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  assert.ok(files.includes('dist/cli.mjs'), 'the CLI is in the package');
  assert.equal(files.filter((f) => /(^|\/)test\/|corpus|fuzz|\.o$/.test(f)), []);
});

test.run();

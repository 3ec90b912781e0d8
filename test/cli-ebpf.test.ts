// The eBPF path of the CLI. Where the tracer cannot open (today's stub, or no privilege), the CLI
// must degrade with one warning, or with --require-ebpf fail before starting anything. Where it
// opens, every sample carries the syscalls block and the summary the whole-run counts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'denet-ebpf-'));

type Rec = Record<string, any>;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '', DENET_DEBUG: '' }, timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const records = (path: string): Rec[] => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec);

const E = suite('cli: eBPF');
const out = join(dir, 'ebpf.jsonl');
let first: ReturnType<typeof cli>;
let recs: Rec[] = [];

E.before(() => {
  first = cli(['--enable-ebpf', '--out', out, '-q', '-i', '50', 'run', '--', 'sh', '-c', 'for i in 1 2 3 4 5; do cat /proc/self/stat >/dev/null; done; sleep 0.3']);
  recs = records(out);
});

E('--enable-ebpf runs the command either way; metadata says whether counts are available', () => {
  assert.is(first.code, 0, first.stderr);
  const cap = recs[0]!.capabilities.ebpf;
  assert.is(recs[0]!.kind, 'metadata');
  assert.type(cap.available, 'boolean');
  if (cap.available) assert.type(cap.mode, 'string');
  else assert.type(cap.reason, 'string');
  assert.is(recs.at(-1)!.kind, 'summary');
});

E('unavailable: exactly one warning line, no ebpf blocks in the records', () => {
  if (recs[0]!.capabilities.ebpf.available) return;
  const lines = first.stderr.trim().split('\n');
  assert.is(lines.length, 1, first.stderr);
  assert.match(lines[0]!, /^denet-pure: eBPF unavailable: .+; .+; continuing without syscall counts$/);
  for (const r of recs) {
    if (r.kind === 'tree') assert.is(r.aggregated.ebpf, undefined);
  }
  assert.is(recs.at(-1)!.ebpf, undefined);
});

E('available: samples carry ebpf.syscalls with a window; the summary has by_syscall', () => {
  if (!recs[0]!.capabilities.ebpf.available) return;
  const trees = recs.filter((r) => r.kind === 'tree');
  assert.ok(trees.length > 0);
  for (const t of trees) {
    assert.type(t.aggregated.ebpf.syscalls.total, 'number');
    assert.type(t.aggregated.ebpf.syscalls.window.duration_ms, 'number');
  }
  const s = recs.at(-1)!.ebpf.syscalls;
  assert.ok(s.total > 0);
  assert.type(s.by_syscall, 'object');
});

E('--require-ebpf where eBPF is unavailable: exit 5 before starting the command, no file', () => {
  if (recs[0]!.capabilities.ebpf.available) {
    console.log('  [skip] --require-ebpf failure: eBPF is available here');
    return;
  }
  const marker = join(dir, 'started');
  const f = join(dir, 'required.jsonl');
  const r = cli(['--require-ebpf', '--out', f, 'run', '--', 'sh', '-c', `touch '${marker}'`]);
  assert.is(r.code, 5);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /eBPF unavailable/);
  assert.not.ok(existsSync(marker), 'the command was not started');
  assert.not.ok(existsSync(f), 'no output file');
});

E.run();

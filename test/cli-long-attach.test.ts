// A long attach as a service runs it: SIGHUP reopens --out (log rotation) and monitoring goes on,
// -d 0 means until the target is over, and with --prometheus alone no JSON Lines are written anywhere.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV, readRecords } from './_lib/cli.js';
import { alive, sleep, waitFor } from './_lib/wait.js';
import { exited, scratchDir } from './_lib/workloads.js';

const test = suite('cli: long attach');

let seq = 0;
const scratch = (name: string) => join(scratchDir(), `long-${process.pid}-${++seq}-${name}`);

function cli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  return { child, stdout: () => out, stderr: () => err };
}

const kinds = (path: string) => readRecords(path).map((r) => r.kind as string);
const treesIn = (path: string) => existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.includes('"kind":"tree"')).length : 0;

test('SIGHUP reopens --out: the rotated file ends with whole lines, the new one starts with metadata; monitoring goes on', async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const out = scratch('svc.jsonl');
  const { child, stderr } = cli(['-q', '-i', '50', '-m', '50', '--write-env', '--out', out, 'attach', String(target.pid)]);
  try {
    await waitFor(() => treesIn(out) >= 2, 20_000);
    renameSync(out, `${out}.1`);
    child.kill('SIGHUP');
    await waitFor(() => treesIn(out) >= 2, 20_000);
    // A SIGHUP without a rotation: the file goes on, without a second header.
    child.kill('SIGHUP');
    const before = treesIn(out);
    await waitFor(() => treesIn(out) >= before + 2, 20_000);
    child.kill('SIGINT');
    assert.is(await exited(child), 130, stderr());
    const first = readRecords(`${out}.1`);
    const second = readRecords(out);
    assert.equal(first.slice(0, 2).map((r) => r.kind), ['env', 'metadata']);
    assert.is(first.at(-1)!.kind, 'tree', 'the rotated file ends with a whole sample');
    assert.equal(second.slice(0, 2).map((r) => r.kind), ['env', 'metadata']);
    assert.is(second[1]!.t0_ms, first[1]!.t0_ms, 'the same monitoring, described again');
    assert.is(kinds(out).filter((k) => k === 'metadata').length, 1);
    assert.is(second.at(-1)!.kind, 'summary');
    // Cumulative figures go on across files: the summary covers the whole attach.
    assert.ok(second.at(-1)!.sample_count > first.filter((r) => r.kind === 'tree').length);
    assert.ok(alive(target.pid!), 'the process was left alone');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    target.kill('SIGKILL');
  }
});

test('SIGHUP without --out (or with --out -) still ends monitoring, with the summary', async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const { child, stdout, stderr } = cli(['-q', '--json', 'attach', String(target.pid)]);
  try {
    await waitFor(() => stdout().includes('"kind":"tree"'), 20_000);
    child.kill('SIGHUP');
    assert.is(await exited(child), 129, stderr());
    assert.match(stdout(), /"kind":"summary"/);
  } finally {
    target.kill('SIGKILL');
  }
});

test('-d 0 is until the process is over', async () => {
  const target = spawn('sh', ['-c', 'sleep 1.5'], { stdio: 'ignore' });
  const out = scratch('d0.jsonl');
  const t0 = Date.now();
  const { child, stderr } = cli(['-q', '-d', '0', '--out', out, 'attach', String(target.pid)]);
  assert.is(await exited(child), 0, stderr());
  assert.ok(Date.now() - t0 >= 1000);
  assert.is(kinds(out).at(-1), 'summary');
});

test('--prometheus alone: metrics served, no JSON Lines on stdout or anywhere', async () => {
  const target = spawn('sleep', ['60'], { stdio: 'ignore' });
  const { child, stdout, stderr } = cli(['-q', '--prometheus', '127.0.0.1:0', 'attach', String(target.pid)]);
  try {
    await waitFor(() => /\/metrics/.test(stderr()), 20_000);
    const port = Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr())![1]);
    let body = '';
    for (let i = 0; i < 40 && !/denet_processes\{target="sleep"\} 1/.test(body); i++) {
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      await sleep(100);
    }
    assert.match(body, /^denet_processes\{target="sleep"\} 1$/m);
    child.kill('SIGTERM');
    assert.is(await exited(child), 143, stderr());
    assert.is(stdout(), '', 'nothing on stdout');
    assert.is(stderr().trim().split('\n').length, 1, `only the address line: ${stderr()}`);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    target.kill('SIGKILL');
  }
});

test('--help teaches the long-attach options: --prometheus, --cgroup, SIGHUP and records only with --out/--json', () => {
  const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8', env: CLI_ENV });
  for (const word of ['--prometheus [HOST]:PORT', '--prometheus-target', '--cgroup PATH', 'attach --cgroup PATH', 'SIGHUP reopens FILE', 'Records are written only with --json or --out']) {
    assert.ok(r.stdout.includes(word), `help mentions ${word}`);
  }
});

test.run();

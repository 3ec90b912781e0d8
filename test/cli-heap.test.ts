// Long-running monitors re-execute themselves once with a fixed young generation (src/cli/heap.ts):
// same pid, stdio intact, the user's own sizing respected, and never when only stdio would survive
// the re-execution but the command line names another inherited descriptor.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV, readRecords } from './_lib/cli.js';
import { waitFor } from './_lib/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'denet-heap-'));
const FLAG = '--max-semi-space-size=4';

interface Started {
  child: ChildProcess;
  stdout: () => string;
  exited: Promise<number | null>;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, extraFd?: number): Started {
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe'];
  if (extraFd !== undefined) stdio.push(extraFd);
  const child = spawn(process.execPath, [CLI, ...args], { stdio, env: { ...CLI_ENV, ...env } });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.resume();
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stdout: () => out, exited };
}

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

/** The CLI's command line once it has started monitoring (its first record is out). */
async function cmdlineWhileMonitoring(s: Started, ready: () => boolean): Promise<string[]> {
  await waitFor(ready, 30_000);
  return cmdline(s.child.pid!);
}

function sleeper(): ChildProcess {
  return spawn('sleep', ['60'], { stdio: 'ignore' });
}

test('attach runs with a fixed young generation, in the same process, its stdout still a pipe', async () => {
  const target = sleeper();
  try {
    const s = start(['--json', '-q', '-d', '3', 'attach', String(target.pid)]);
    const argv = await cmdlineWhileMonitoring(s, () => s.stdout().includes('"metadata"'));
    assert.ok(argv.includes(FLAG), argv.join(' '));
    assert.ok(argv.includes('--min-semi-space-size=4'), argv.join(' '));
    assert.is(await s.exited, 0);
    const lines = s.stdout().trim().split('\n').map((l) => JSON.parse(l) as { kind: string; pid?: number });
    assert.is(lines[0]!.kind, 'metadata');
    assert.is(lines.at(-1)!.kind, 'summary', 'the summary reached stdout');
  } finally {
    target.kill();
  }
});

test('DENET_PURE_FIXED_YOUNG=0, a sizing in NODE_OPTIONS, and a plain run keep the command line as given', async () => {
  const target = sleeper();
  try {
    for (const [args, env] of [
      [['--json', '-q', '-d', '2', 'attach', String(target.pid)], { DENET_PURE_FIXED_YOUNG: '0' }],
      [['--json', '-q', '-d', '2', 'attach', String(target.pid)], { NODE_OPTIONS: '--max-semi-space-size=8' }],
      [['--json', '-q', 'run', '--', 'sleep', '2'], {}],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const s = start(args, env);
      const argv = await cmdlineWhileMonitoring(s, () => s.stdout().includes('"metadata"'));
      assert.equal(argv.slice(1, -1).filter((a) => a.includes('semi-space')), [], `${args.join(' ')}: ${argv.join(' ')}`);
      assert.is(await s.exited, 0);
    }
  } finally {
    target.kill();
  }
});

test('--out /dev/fd/3 on an inherited descriptor: no re-execution, every record written there', async () => {
  const target = sleeper();
  const path = join(dir, 'fd3.jsonl');
  const fd = openSync(path, 'w');
  try {
    const s = start(['-q', '-d', '2', '-o', '/dev/fd/3', 'attach', String(target.pid)], {}, fd);
    const argv = await cmdlineWhileMonitoring(s, () => readFileSync(path, 'utf8').includes('"metadata"'));
    assert.not.ok(argv.includes(FLAG), argv.join(' '));
    assert.is(await s.exited, 0);
    const recs = readRecords(path);
    assert.ok(recs.length >= 3, `${recs.length} records`);
  } finally {
    closeSync(fd);
    target.kill();
  }
});

test.run();

// The CLI as a user meets it: help, version, and every kind of invalid input giving one line on
// stderr, the documented exit code, nothing started and no output file.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, runCli } from './_lib/cli.js';
import { ROOT } from './_lib/workloads.js';

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env, timeout: 20_000 });
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

const Help = suite('cli: help and version');

Help('--help documents commands, every option, outputs and exit codes', () => {
  const r = cli(['--help']);
  assert.is(r.code, 0);
  for (const word of ['Usage:', 'run', 'attach', 'stats', 'vm', 'Exit codes', 'stderr', 'Examples']) {
    assert.ok(r.stdout.includes(word), `help mentions ${word}`);
  }
  const options = ['--enable-ebpf', '--require-ebpf', '--ebpf-attach', '--json', '--out', '--stats', '--interval',
    '--max-interval', '--duration', '--kill-on-duration', '--no-update', '--quiet', '--exclude-children',
    '--since-process-start', '--write-env', '--help', '--version', '--count-only', '--per-thread', '--trace', '--failed-only', '--max-details'];
  for (const o of options) assert.ok(r.stdout.includes(o), `help documents ${o}`);
  for (const code of ['126', '127', '128+N']) assert.ok(r.stdout.includes(code), `help gives exit code ${code}`);
  assert.is(r.stderr, '');
});

Help('help works after the subcommand and as a word', () => {
  assert.ok(cli(['run', '--help']).stdout.includes('Usage:'));
  assert.ok(cli(['help']).stdout.includes('Usage:'));
  assert.ok(cli(['stats', '--help']).stdout.includes('Usage:'));
});

Help('--version prints the package version', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = cli([flag]);
    assert.is(r.code, 0);
    assert.is(r.stdout.trim(), `denet-pure ${pkg.version}`);
  }
});

Help('vm runs a program from stdin in the WebAssembly engine', () => {
  const r = spawnSync(process.execPath, [CLI, 'vm'], { input: 'b7 00 00 00 2a 00 00 00 95 00 00 00 00 00 00 00', encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0x2a');
});

Help('the package entry exports the API the CLI is built on', async () => {
  const api = await import(join(ROOT, 'dist/src/index.js'));
  for (const name of ['Session', 'ProcessTreeMonitor', 'SummaryAccumulator', 'summarizeRecords', 'parseJsonLines', 'recordsToCsv',
    'buildSyscallsBlock', 'buildWindowBlock', 'buildBySyscall', 'CATEGORIES', 'SyscallTracer', 'EbpfUnavailableError',
    'asm', 'loader', 'vm', 'verifier']) {
    assert.ok(name in api, `exports ${name}`);
  }
  // Internals stay internal: the tracer's program builders and state word, /proc parsers.
  for (const name of ['sysEnterProgram', 'tracerMaps', 'State', 'STATE_MASK', 'parseStat', 'readIo', 'EbpfSampler']) {
    assert.not.ok(name in api, `does not export ${name}`);
  }
  assert.ok(Object.keys(api).length < 60, `a surface one can read (${Object.keys(api).length} names)`);
});

Help.run();

const Bad = suite('cli: invalid input');
const dir = mkdtempSync(join(tmpdir(), 'denet-cli-'));
const notExec = join(dir, 'not-executable.sh');
writeFileSync(notExec, '#!/bin/sh\nexit 0\n');
chmodSync(notExec, 0o644);

// [description, args before the command, exit code]; each runs a command that would leave a marker.
const cases: [string, string[], number, string[]?][] = [
  ['unknown option', ['--bogus'], 2],
  ['unknown short option', ['-z'], 2],
  ['interval above max-interval', ['-i', '500', '-m', '100'], 2],
  ['non-numeric interval', ['-i', 'abc'], 2],
  ['zero interval', ['--interval=0'], 2],
  ['non-numeric max-interval', ['-m', '1s'], 2],
  ['non-numeric duration', ['-d', 'soon'], 2],
  ['negative duration', ['-d', '-3'], 2],
  ['option without its value', ['--out'], 2],
  ['bad --ebpf-attach', ['--ebpf-attach', 'kprobe'], 2],
  ['--kill-on-duration without --duration', ['--kill-on-duration'], 2],
  ['--trace with an unknown name', ['--trace', 'file,no_such_syscall'], 2],
  ['--trace with nothing in it', ['--trace', ','], 2],
  ['--count-only with --failed-only', ['--count-only', '--failed-only'], 2],
  ['--count-only with --max-details', ['--count-only', '--max-details', '4096'], 2],
  ['--max-details without eBPF', ['--max-details', '4096'], 2],
  ['--max-details out of range', ['--enable-ebpf', '--max-details', '10'], 2],
  ['--out is a directory', ['--out', dir], 4],
  ['--out in a missing directory', ['--out', join(dir, 'missing', 'x.jsonl')], 4],
];

for (const [what, opts, code] of cases) {
  Bad(`${what}: one line, exit ${code}, nothing started, no file`, () => {
    const marker = join(dir, `started-${what.replace(/\W+/g, '_')}`);
    const out = join(dir, `out-${what.replace(/\W+/g, '_')}.jsonl`);
    const withOut = opts.includes('--out') ? opts : ['--out', out, ...opts];
    const r = cli([...withOut, 'run', '--', 'sh', '-c', `touch '${marker}'`]);
    assert.is(r.code, code, r.stderr);
    assert.is(lines(r.stderr).length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, /^denet-pure: /);
    assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
    assert.is(r.stdout, '');
    assert.not.ok(existsSync(marker), 'the command did not start');
    assert.not.ok(existsSync(out), 'no output file');
  });
}

Bad('--stats unwritable: --out not created either, command not started', () => {
  const out = join(dir, 'stats-case.jsonl');
  const marker = join(dir, 'started-stats-case');
  const r = cli(['--out', out, '--stats', join(dir, 'nope', 's.json'), 'run', '--', 'sh', '-c', `touch '${marker}'`]);
  assert.is(r.code, 4);
  assert.is(lines(r.stderr).length, 1);
  assert.match(r.stderr, /--stats/);
  assert.not.ok(existsSync(out));
  assert.not.ok(existsSync(marker));
});

Bad('missing subcommand, unknown subcommand, missing command: exit 2', () => {
  for (const args of [[], ['--json'], ['frobnicate'], ['run'], ['run', '--'], ['--', 'ls']]) {
    const r = cli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(lines(r.stderr).length, 1, r.stderr);
  }
  assert.match(cli(['frobnicate']).stderr, /unknown subcommand 'frobnicate'/);
  assert.match(cli(['run']).stderr, /run needs a command/);
});

Bad('command not found: 127; not executable: 126; both say which command', () => {
  const nf = cli(['run', '--', 'no-such-command-denet-xyz']);
  assert.is(nf.code, 127);
  assert.is(lines(nf.stderr).length, 1);
  assert.match(nf.stderr, /command not found: no-such-command-denet-xyz/);
  const ne = cli(['run', '--', notExec]);
  assert.is(ne.code, 126);
  assert.is(lines(ne.stderr).length, 1);
  assert.match(ne.stderr, /not-executable\.sh/);
});

Bad('attach: unknown PID exits 3, malformed PID exits 2, no output file', () => {
  const out = join(dir, 'attach.jsonl');
  // Above the kernel's largest pid_max (2^22), so it never exists.
  const r = cli(['--out', out, 'attach', '999999999']);
  assert.is(r.code, 3);
  assert.is(lines(r.stderr).length, 1);
  assert.match(r.stderr, /no such process: 999999999/);
  assert.not.ok(existsSync(out));
  for (const pid of ['abc', '-5', '0', '12x']) {
    const m = cli(['--out', out, 'attach', '--', pid]);
    assert.is(m.code, 2, `${pid}: ${m.stderr}`);
    assert.is(lines(m.stderr).length, 1);
  }
  assert.is(cli(['attach']).code, 2);
  assert.not.ok(existsSync(out));
});

Bad('options are also accepted between run and the command', () => {
  const r = cli(['run', '-i', 'abc', '--', 'true']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--interval 'abc'/);
});

Bad.run();

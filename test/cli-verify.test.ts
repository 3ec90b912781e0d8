// `denet-pure verify`: verdicts per program of a real object, JSON shape, hex on stdin, exit codes,
// one-line usage errors, and --kernel beside ours.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, CLI_ENV, runCli } from './_lib/cli.js';
import { objectPath } from './_lib/objects.js';
import { kernelTest } from './_lib/privilege.js';

const t = suite('cli verify');
const hex = (input: string, args: string[]) =>
  spawnSync(process.execPath, [CLI, 'verify', '-', ...args], { input, encoding: 'utf8', env: CLI_ENV, timeout: 30_000 });

t('an object: one verdict per program; --json has the documented shape; exit 0 when all are accepted', () => {
  const r = runCli(['verify', objectPath('bcc.execsnoop.o'), '--json']);
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.is(doc.programs.length, 2);
  for (const p of doc.programs) {
    assert.equal(Object.keys(p).sort(), ['accepted', 'errors', 'instructions', 'section', 'type']);
    assert.is(p.type, 'tracepoint');
    assert.is(p.accepted, true);
    assert.ok(p.instructions > 10);
    assert.equal(p.errors, []);
  }
  const text = runCli(['verify', objectPath('bcc.execsnoop.o'), '--section', 'tracepoint/syscalls/sys_exit_execve']);
  assert.is(text.code, 0);
  assert.match(text.stdout, /^tracepoint\/syscalls\/sys_exit_execve \(tracepoint__syscalls__sys_exit_execve, tracepoint, \d+ insns\): accepted\n$/);
});

t('a refusal names the instruction, its disassembly and the reason; exit 1', () => {
  const r = hex('79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00', ['--type', 'xdp', '--json']);
  assert.is(r.status, 1);
  const p = JSON.parse(r.stdout).programs[0];
  assert.is(p.accepted, false);
  assert.is(p.errors[0].insn, 0);
  assert.match(p.errors[0].message, /^insn 0 \(r0 = \*\(u64 \*\)\(r1 \+0\)\): xdp packet pointers \(offset 0\) are loaded with 32-bit loads only/);
  const text = hex('b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00', ['--type', 'socket_filter']);
  assert.is(text.status, 0);
  assert.match(text.stdout, /accepted/);
  // --type overrides the section's type
  const asXdp = runCli(['verify', objectPath('bcc.execsnoop.o'), '--type', 'xdp', '--json']);
  assert.is(asXdp.code, 1);
  assert.ok(JSON.parse(asXdp.stdout).programs.every((p: { type: string; accepted: boolean }) => p.type === 'xdp' && !p.accepted));
});

t('usage errors: one line, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dp-verify-'));
  const notElf = join(dir, 'x.o');
  writeFileSync(notElf, 'not an object at all '.repeat(1000));
  const cases: string[][] = [
    ['verify'],
    ['verify', objectPath('bcc.execsnoop.o'), '--type', 'bogus'],
    ['verify', objectPath('bcc.execsnoop.o'), '--section', 'nope'],
    ['verify', join(dir, 'missing.o')],
    ['verify', notElf],
    ['verify', objectPath('bcc.execsnoop.o'), '--frobnicate'],
  ];
  for (const args of cases) {
    const r = runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stdout, '');
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.length < 400, r.stderr);
  }
  assert.is(hex('zz', ['--type', 'xdp']).status, 2);
  assert.is(hex('b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00', []).status, 2, 'hex needs --type');
});

t('--help teaches, exit 0', () => {
  const r = runCli(['verify', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--kernel/);
  assert.match(r.stdout, /sched_cls/);
});

kernelTest(t, '--kernel: the kernel verdict and log excerpt beside ours', () => {
  const r = runCli(['verify', objectPath('bcc.execsnoop.o'), '--kernel', '--json']);
  assert.is(r.code, 0, r.stderr);
  for (const p of JSON.parse(r.stdout).programs) assert.is(p.kernel.accepted, true);
  const bad = hex('79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00', ['--type', 'xdp', '--kernel']);
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /kernel: refused\n(    \| .*\n)*    \| invalid bpf_context access off=0 size=8/);
});

t.run();

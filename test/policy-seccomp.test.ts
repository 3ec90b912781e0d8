// seccomp: the allow-list learnt from runs, and what each output format allows. The compiled filter
// is checked for every syscall number on every ABI with a reference cBPF interpreter; the kernel
// and bubblewrap check it for real in policy-kernel.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cbpf } from '../src/asm/index.js';
import {
  AUDIT_ARCH, SECCOMP_RET, X32_SYSCALL_BIT, learnAllowList, loadRun, ociProfile, PolicyError, seccompNotes, seccompProgram, systemdDropIn,
  type AllowList, type RunData,
} from '../src/policy/index.js';
import { syscallTable } from '../src/syscalls/index.js';
import { runCli } from './_lib/cli.js';
import { runCbpf, seccompData } from './_lib/cbpf-vm.js';
import { runLines, writeRun, type FakeRun } from './_lib/runs.js';
import { scratchDir } from './_lib/workloads.js';

const test = suite('policy: seccomp');
const run = (r: FakeRun, source = 'r.jsonl'): RunData => loadRun(runLines(r).join('\n') + '\n', source);
const LS: FakeRun = { arch: 'x86_64', counts: { openat: 34, mmap: 30, close: 23, newfstatat: 22, read: 7, execve: 1, exit_group: 1, write: 1 } };
const ERRNO = SECCOMP_RET.ERRNO | 1;

/** The numbers a filter allows on one AUDIT_ARCH, by trying every number below `max`. */
function allowed(filters: cbpf.SockFilter[], arch: number, max = 1024): number[] {
  const out: number[] = [];
  for (let nr = 0; nr < max; nr++) if (runCbpf(filters, seccompData(nr, arch)) === SECCOMP_RET.ALLOW) out.push(nr);
  return out;
}

const compile = (list: AllowList, deny: 'errno' | 'kill' = 'errno') => cbpf.assembleCbpf(seccompProgram(list, deny)).filters;
const nums = (list: AllowList['native']) => list.map((e) => e.nr).sort((a, b) => a - b);

test('the union of the runs, busiest first; --allow adds names; 32-bit syscalls kept apart', () => {
  const a = run(LS, 'a');
  const b = run({ arch: 'x86_64', counts: { openat: 100, socket: 2, 'ia32:read': 5, 'ia32:exit': 1 } }, 'b');
  const list = learnAllowList([a, b], { allow: ['wait4,ia32:getpid'] });
  assert.is(list.arch, 'x86_64');
  assert.is(list.archFrom, 'metadata');
  assert.equal(list.native.map((e) => e.name), ['openat', 'mmap', 'close', 'newfstatat', 'read', 'socket', 'write', 'execve', 'exit_group', 'wait4']);
  assert.equal(list.native[0], { name: 'openat', nr: 257, calls: 134, named: true });
  assert.equal(list.compat.map((e) => [e.name, e.nr, e.calls]), [['read', 3, 5], ['exit', 1, 1], ['getpid', 20, 0]]);
});

test('the architecture: from metadata, from compat names, from --arch; disagreement and foreign names are refused', () => {
  assert.is(learnAllowList([run({ counts: { read: 1, 'arm32:read': 1 } })]).arch, 'aarch64');
  assert.is(learnAllowList([run({ counts: { read: 1, 'arm32:read': 1 } })]).archFrom, 'names');
  const arm = learnAllowList([run({ counts: { openat: 3 } })], { arch: 'aarch64' });
  assert.equal([arm.arch, arm.native[0]!.nr], ['aarch64', 56]);
  const refused: Array<[() => unknown, RegExp]> = [
    [() => learnAllowList([run(LS, 'a'), run({ arch: 'aarch64', counts: { read: 1 } }, 'b')]), /b was recorded on aarch64 but a on x86_64; learn one architecture at a time/],
    [() => learnAllowList([run(LS)], { arch: 'aarch64' }), /--arch aarch64 disagrees with r\.jsonl, recorded on x86_64/],
    [() => learnAllowList([run({ arch: 'x86_64', counts: { 'arm32:read': 1 } })]), /'arm32:read' is a syscall of another architecture than x86_64/],
    [() => learnAllowList([run(LS)], { allow: ['frobnicate'] }), /--allow: 'frobnicate' is not a x86_64 syscall/],
    [() => learnAllowList([run(LS)], { allow: ['ia32:newfstatat'] }), /'newfstatat' is not a x86_64 32-bit \(ia32\) syscall/],
    [() => learnAllowList([run({ ...LS, noEbpf: true }, 'plain')]), /plain has no syscall counts; record the run with --enable-ebpf/],
    [() => learnAllowList([run({ ...LS, noSummary: true }, 'cut')]), /cut lacks its summary line, so only its most frequent syscalls are known/],
    [() => learnAllowList([run({ ...LS, extraEbpf: { losses: { syscalls_uncounted: 7, processes_untracked: 1, exits_unrecorded: 0 } } }, 'full')]),
      /full: 7 syscalls were not counted and 1 process was never tracked \(a kernel table was full\), so the allow-list could miss syscalls/],
  ];
  for (const [fn, re] of refused) assert.throws(fn, (e: Error) => e instanceof PolicyError && re.test(e.message));
});

test('bpf, x86_64: exactly the list on each ABI; x32 denied; foreign architectures killed; the deny action', () => {
  const list = learnAllowList([run({ arch: 'x86_64', counts: { ...LS.counts, 'ia32:getpid': 5, 'ia32:exit': 1 } })]);
  for (const deny of ['errno', 'kill'] as const) {
    const f = compile(list, deny);
    assert.equal(allowed(f, AUDIT_ARCH.X86_64), nums(list.native));
    assert.equal(allowed(f, AUDIT_ARCH.I386), [1, 20], 'ia32 exit and getpid');
    // i386 getpid is 20, x86_64 20 is writev: allowed on one ABI only.
    assert.is(runCbpf(f, seccompData(20, AUDIT_ARCH.X86_64)), deny === 'kill' ? SECCOMP_RET.KILL_PROCESS : ERRNO);
    assert.is(runCbpf(f, seccompData(X32_SYSCALL_BIT | 257, AUDIT_ARCH.X86_64)), deny === 'kill' ? SECCOMP_RET.KILL_PROCESS : ERRNO, 'x32 openat');
    for (const arch of [AUDIT_ARCH.AARCH64, AUDIT_ARCH.ARM, 0, 0xffffffff]) assert.is(runCbpf(f, seccompData(257, arch)), SECCOMP_RET.KILL_PROCESS);
  }
  const nativeOnly = compile(learnAllowList([run(LS)]));
  assert.equal(allowed(nativeOnly, AUDIT_ARCH.I386), [], 'no 32-bit syscalls seen: the 32-bit ABI is refused');
  assert.is(runCbpf(nativeOnly, seccompData(3, AUDIT_ARCH.I386)), SECCOMP_RET.KILL_PROCESS);
});

test('bpf, aarch64: the same checks against its own numbers, without the x32 test', () => {
  const list = learnAllowList([run({ arch: 'aarch64', counts: { openat: 9, read: 4, exit_group: 1, 'arm32:read': 2 } })]);
  const f = compile(list);
  assert.equal(allowed(f, AUDIT_ARCH.AARCH64), [56, 63, 94]);
  assert.equal(allowed(f, AUDIT_ARCH.ARM), [3]);
  assert.is(runCbpf(f, seccompData(56, AUDIT_ARCH.X86_64)), SECCOMP_RET.KILL_PROCESS);
  assert.not.ok(f.some((x) => x.k === X32_SYSCALL_BIT));
});

test('bpf: every syscall of the table at once still assembles (checks in groups within jump reach) and decides right', () => {
  const t = syscallTable('x86_64');
  const every: string[] = [];
  for (let nr = 0; nr < 1024; nr++) if (!t.name(nr).startsWith('syscall_')) every.push(t.name(nr));
  const list = learnAllowList([run(LS)], { allow: every });
  assert.ok(list.native.length > 300, `${list.native.length} syscalls`);
  const f = compile(list);
  assert.equal(allowed(f, AUDIT_ARCH.X86_64), nums(list.native));
  assert.is(runCbpf(f, seccompData(1000, AUDIT_ARCH.X86_64)), ERRNO);
  // Unnamed numbers (syscall_N in a run) are allowed by number.
  const unnamed = learnAllowList([run({ arch: 'x86_64', counts: { read: 1, syscall_999: 2 } })]);
  assert.equal(allowed(compile(unnamed), AUDIT_ARCH.X86_64), [0, 999]);
});

test('OCI: the same names; 32-bit ones in their own entry and architecture; the deny action', () => {
  const list = learnAllowList([run({ arch: 'x86_64', counts: { ...LS.counts, 'ia32:getpid': 5 } })]);
  const p = ociProfile(list, 'errno');
  assert.equal(p.defaultAction, 'SCMP_ACT_ERRNO');
  assert.is(p.defaultErrnoRet, 1);
  assert.equal(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  assert.equal(p.syscalls[0], { names: Object.keys(LS.counts).sort(), action: 'SCMP_ACT_ALLOW' });
  assert.equal(p.syscalls[1], { names: ['getpid'], action: 'SCMP_ACT_ALLOW' });
  const k = ociProfile(learnAllowList([run(LS)]), 'kill');
  assert.equal([k.defaultAction, k.defaultErrnoRet, k.architectures, k.syscalls.length], ['SCMP_ACT_KILL_PROCESS', undefined, ['SCMP_ARCH_X86_64'], 1]);
  assert.throws(() => ociProfile(learnAllowList([run({ arch: 'x86_64', counts: { read: 1, syscall_999: 2 } })]), 'errno'), /syscall 999, which our table cannot name; the OCI format needs names: use --format bpf/);
});

test('systemd: a drop-in with the names; kill leaves out SystemCallErrorNumber; 32-bit syscalls refused', () => {
  const text = systemdDropIn(learnAllowList([run(LS, 'ls.jsonl')]), 'errno');
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^# Learnt by denet-pure seccomp from ls\.jsonl \(x86_64, 8 syscalls\)\.$/);
  assert.ok(lines.includes('[Service]') && lines.includes('SystemCallArchitectures=native') && lines.includes('SystemCallErrorNumber=EPERM'));
  assert.is(lines.find((l) => l.startsWith('SystemCallFilter='))!, `SystemCallFilter=${Object.keys(LS.counts).sort().join(' ')}`);
  assert.not.ok(systemdDropIn(learnAllowList([run(LS)]), 'kill').includes('SystemCallErrorNumber'));
  assert.throws(() => systemdDropIn(learnAllowList([run({ arch: 'x86_64', counts: { read: 1, 'ia32:read': 1 } })]), 'errno'),
    /the runs made 32-bit syscalls \(ia32:read\), which SystemCallFilter= cannot tie to their ABI; use --format bpf or oci/);
});

test('disassembly notes follow the ABI each path checked: names on the native list, ia32 names on the compat one', () => {
  const list = learnAllowList([run({ arch: 'x86_64', counts: { write: 3, 'ia32:write': 2 } })]);
  const f = compile(list);
  const notes = seccompNotes(f);
  const text = cbpf.disassembleCbpf(f, { comment: (i) => notes[i] });
  assert.match(text, /^l0:\tld \[4\]\t; seccomp_data\.arch\nl1:\tjeq #0xc000003e, l5, l2\t; AUDIT_ARCH_X86_64\nl2:\tjeq #0x40000003, l3, l4\t; AUDIT_ARCH_I386\nl3:\tjmp l\d+\nl4:\tret #0x80000000\t; SECCOMP_RET_KILL_PROCESS\n/);
  assert.match(text, /jeq #0x1, l\d+, l\d+\t; write\n/);
  assert.match(text, /jeq #0x4, l\d+, l\d+\t; ia32:write\n/);
  assert.match(text, /jge #0x40000000, l\d+, l\d+\t; x32 ABI bit/);
  assert.match(text, /ret #0x50001\t; SECCOMP_RET_ERRNO \| EPERM/);
  assert.equal(cbpf.assembleCbpf(cbpf.parseCbpf(text)).filters, f, 'the annotated listing parses back');
});

const cliTest = suite('policy: seccomp command');

cliTest('writes each format atomically; -o - writes stdout; disasm --cbpf reads the filter back', () => {
  const ls = writeRun(LS);
  const dir = join(scratchDir(), 'out-seccomp');
  mkdirSync(dir, { recursive: true });
  const bpf = join(dir, 'ls.bpf');
  const r = runCli(['seccomp', ls, '--format', 'bpf', '-o', bpf]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^denet-pure: seccomp: 8 x86_64 syscalls allowed, others fail with EPERM: .*ls\.bpf \(\d+ BPF instructions\)\n$/);
  const bytes = readFileSync(bpf);
  assert.equal(cbpf.decodeCbpf(bytes), compile(learnAllowList([run(LS)])));
  assert.equal(readdirSync(dir), ['ls.bpf'], 'no temporary file left');
  const dis = runCli(['disasm', '--cbpf', bpf]);
  assert.is(dis.code, 0, dis.stderr);
  assert.match(dis.stdout, /^l0:\tld \[4\]\t; seccomp_data\.arch\n/);
  assert.match(dis.stdout, /; openat\n/);
  const hex = runCli(['disasm', '--cbpf', '--no-notes', '-'], { input: bytes.toString('hex').replace(/(..)/g, '$1 ') });
  assert.is(hex.stdout, cbpf.disassembleCbpf(cbpf.decodeCbpf(bytes)), 'hex on stdin, no notes');
  const oci = runCli(['seccomp', ls, '--format', 'oci', '-o', '-', '--deny', 'kill']);
  assert.is(oci.code, 0, oci.stderr);
  assert.equal(JSON.parse(oci.stdout).syscalls[0].names, Object.keys(LS.counts).sort());
  const sd = runCli(['seccomp', ls, '--format', 'systemd', '-o', join(dir, 'x.conf')]);
  assert.is(sd.code, 0, sd.stderr);
  assert.match(readFileSync(join(dir, 'x.conf'), 'utf8'), /^SystemCallFilter=close execve /m);
  // Replacing a file is atomic; a directory is refused and left alone.
  writeFileSync(bpf, 'old');
  assert.is(runCli(['seccomp', ls, '--format', 'bpf', '-o', bpf]).code, 0);
  assert.equal(readFileSync(bpf), bytes);
  const d = runCli(['seccomp', ls, '--format', 'bpf', '-o', dir]);
  assert.is(d.code, 4);
  assert.match(d.stderr, /cannot write --out .*out-seccomp: it is a directory; give a file name/);
  assert.ok(existsSync(join(dir, 'ls.bpf')));
});

cliTest('usage errors exit 2, unusable runs exit 1, each with one line', () => {
  const ls = writeRun(LS);
  const usage: Array<[string[], RegExp]> = [
    [['seccomp', ls, '-o', '-'], /seccomp needs --format oci, systemd or bpf/],
    [['seccomp', ls, '--format', 'json', '-o', '-'], /invalid --format 'json': expected oci, systemd or bpf/],
    [['seccomp', ls, '--format', 'oci'], /seccomp needs -o FILE \(or -o - for stdout\)/],
    [['seccomp', '--format', 'oci', '-o', '-'], /seccomp needs at least one run/],
    [['seccomp', ls, '--format', 'oci', '-o', '-', '--deny', 'trap'], /invalid --deny 'trap': expected errno \(EPERM\) or kill/],
    [['seccomp', ls, '--format', 'oci', '-o', '-', '--arch', 'mips'], /invalid --arch 'mips'/],
  ];
  for (const [args, re] of usage) {
    const r = runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  const plain = writeRun({ ...LS, noEbpf: true });
  const compat = writeRun({ arch: 'x86_64', counts: { read: 1, 'ia32:read': 1 } });
  const failing: Array<[string[], RegExp]> = [
    [['seccomp', plain, '--format', 'oci', '-o', '-'], /has no syscall counts; record the run with --enable-ebpf/],
    [['seccomp', compat, '--format', 'systemd', '-o', '-'], /SystemCallFilter= cannot tie to their ABI/],
    [['seccomp', ls, '--format', 'bpf', '-o', '-', '--allow', 'nosuchcall'], /--allow: 'nosuchcall' is not a x86_64 syscall/],
  ];
  for (const [args, re] of failing) {
    const r = runCli(args);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.is(r.stdout, '');
  }
  for (const [input, re] of [['', /stdin is empty/], ['\x01\x02\x03', /3 bytes is not a whole number of 8-byte struct sock_filter entries/], ['abc', /looks like hex text but is not/]] as const) {
    const r = runCli(['disasm', '--cbpf', '-'], { input });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
  }
  const mixed = runCli(['disasm', '--cbpf', '--raw', '-'], { input: '' });
  assert.is(mixed.code, 2);
  assert.match(mixed.stderr, /--section, --raw and --opcodes are for eBPF, not --cbpf/);
});

cliTest('--help teaches the formats and what a launcher needs', () => {
  const r = runCli(['seccomp', '--help']);
  assert.is(r.code, 0);
  for (const s of ['--format oci', 'SystemCallFilter=', 'bwrap --seccomp FD', '--unshare-pid', 'wait4', '--allow NAMES', '--deny kill']) assert.ok(r.stdout.includes(s), s);
});

test.run();
cliTest.run();

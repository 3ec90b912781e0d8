// The policy commands on real runs: allow-lists learnt with the eBPF counter and enforced by the
// kernel through bubblewrap (bwrap --seccomp FD), on x86_64 and on the 32-bit compat ABI; and diff
// of real runs of a deterministic workload.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cbpf } from '../src/asm/index.js';
import { SECCOMP_RET, ARCH_AUDIT } from '../src/policy/index.js';
import { syscallTable } from '../src/syscalls/index.js';
import { runCli, readRecords } from './_lib/cli.js';
import { runCbpf, seccompData } from './_lib/cbpf-vm.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { ROOT, compileFixture, hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('policy (kernel, bubblewrap)');
const dir = scratchDir();

const needBwrap = () => bpfUnavailableReason()
  ?? (hasCommand('bwrap') ? null : 'bubblewrap is not installed (apt-get install bubblewrap)')
  ?? (hasCommand('gcc') ? null : 'gcc is not installed');

/** Builds a fixture with extra gcc flags; the reason when this machine cannot. */
function build(name: string, out: string, flags: string[]): { bin: string } | { why: string } {
  const bin = join(dir, out);
  const r = spawnSync('gcc', [...flags, '-o', bin, join(ROOT, 'test/fixtures', `${name}.c`)], { encoding: 'utf8' });
  return r.status === 0 ? { bin } : { why: `cannot build ${out} (gcc ${flags.join(' ')}): ${(r.stderr || r.error?.message || '').split('\n')[0]}` };
}
const rawSocket = () => build('socket-raw', 'socket-raw', ['-O1', '-nostdlib', '-static', '-fno-pie', '-no-pie']);
const probe32 = () => (process.arch === 'x64' ? build('seccomp-probe', 'probe32', ['-m32', '-O1']) : { why: 'the 32-bit probe is built for x86_64 (i386) only' });

/** Records `argv` with eBPF counting; returns the JSON Lines file. */
function learn(name: string, argv: string[]): string {
  const out = join(dir, `${name}.jsonl`);
  const r = runCli(['--require-ebpf', '-q', '--out', out, 'run', '--', ...argv], { timeout: 60_000 });
  assert.is(r.code, 0, `learning run of ${argv.join(' ')}: ${r.stderr}`);
  return out;
}

function seccomp(run: string, args: string[]): string {
  const out = join(dir, `${run.replace(/.*\//, '')}.${args.join('_').replace(/[^\w]/g, '')}.out`);
  const r = runCli(['seccomp', run, '-o', out, ...args]);
  assert.is(r.code, 0, r.stderr);
  return out;
}

/** Runs argv under bwrap with the filter file on fd 3. */
function bwrap(filter: string, argv: string[], extra: string[] = []) {
  const fd = openSync(filter, 'r');
  try {
    const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', ...extra, '--seccomp', '3', ...argv], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', fd], timeout: 30_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

/** Names the filter allows on the native ABI, found by running it on every number. */
function allowedNames(filter: string): string[] {
  const t = syscallTable();
  const f = cbpf.decodeCbpf(readFileSync(filter));
  const names: string[] = [];
  for (let nr = 0; nr < 1024; nr++) if (runCbpf(f, seccompData(nr, ARCH_AUDIT[t.arch].native)) === SECCOMP_RET.ALLOW) names.push(t.name(nr));
  return names.sort();
}

kernelTest(test, 'a filter learnt from `ls /` runs `ls /` under bwrap and refuses a program that opens a socket', () => {
  const built = rawSocket() as { bin: string };
  const ls = learn('ls', ['ls', '/']);
  const seen = Object.keys(readRecords(ls).at(-1)!.ebpf.syscalls.by_syscall).sort();
  assert.ok(seen.includes('execve') && seen.includes('getdents64'), `the run saw ls's syscalls: ${seen}`);
  assert.is(readRecords(ls)[0]!.arch, process.arch === 'x64' ? 'x86_64' : 'aarch64');

  const plain = spawnSync('ls', ['/'], { encoding: 'utf8' }).stdout;
  const errno = seccomp(ls, ['--format', 'bpf']);
  const ok = bwrap(errno, ['ls', '/']);
  assert.is(ok.code, 0, ok.stderr);
  assert.is(ok.stdout, plain);
  // Without the filter the socket opens (exit 0); under it socket() fails with EPERM (exit 1).
  assert.is(spawnSync(built.bin).status, 0, 'the socket opens without a filter');
  assert.is(bwrap(errno, [built.bin]).code, 1, 'EPERM');

  const kill = seccomp(ls, ['--format', 'bpf', '--deny', 'kill']);
  assert.is(bwrap(kill, ['ls', '/']).code, 0);
  assert.is(bwrap(kill, [built.bin]).code, 128 + 31, 'killed by SIGSYS (bwrap exits 128 + the signal)');
  // And the control: the same filter with socket allowed lets it open.
  assert.is(bwrap(seccomp(ls, ['--format', 'bpf', '--allow', 'socket']), [built.bin]).code, 0);

  // The OCI profile holds the very names the filter allows, and those the run saw.
  const oci = JSON.parse(readFileSync(seccomp(ls, ['--format', 'oci']), 'utf8'));
  assert.equal(oci.syscalls.length, 1);
  assert.equal(oci.syscalls[0].names, seen);
  assert.equal(allowedNames(errno), seen);
  assert.equal(allowedNames(kill), seen);
}, () => needBwrap() ?? ('why' in rawSocket() ? (rawSocket() as { why: string }).why : null));

kernelTest(test, 'bwrap --unshare-all: its pid-1 runs under the filter too and needs wait4, as the docs say; --allow adds it', () => {
  const ls = join(dir, 'ls.jsonl');
  const run = existsSync(ls) ? ls : learn('ls', ['ls', '/']);
  const learnt = seccomp(run, ['--format', 'bpf']);
  const without = bwrap(learnt, ['ls', '/'], ['--unshare-all', '--proc', '/proc']);
  assert.not.equal(without.code, 0, 'fails without wait4');
  assert.match(without.stderr, /wait/);
  const withWait = seccomp(run, ['--format', 'bpf', '--allow', 'wait4']);
  const ok = bwrap(withWait, ['ls', '/'], ['--unshare-all', '--proc', '/proc']);
  assert.is(ok.code, 0, ok.stderr);
}, needBwrap);

kernelTest(test, 'a libc program runs under the list learnt from its own run; its socket path is refused (64-bit)', () => {
  const bin = compileFixture('seccomp-probe');
  const run = learn('probe64', [bin]);
  const filter = seccomp(run, ['--format', 'bpf']);
  const ok = bwrap(filter, [bin]);
  assert.equal([ok.code, ok.stdout], [0, 'ok\n'], ok.stderr);
  assert.is(spawnSync(bin, ['socket']).status, 0, 'the socket opens without a filter');
  assert.is(bwrap(filter, [bin, 'socket']).code, 3, 'socket() failed with EPERM');
}, needBwrap);

kernelTest(test, 'i386 (gcc -m32): the 32-bit syscalls form their own list, enforced on their ABI; OCI adds SCMP_ARCH_X86; systemd refuses', () => {
  const { bin } = probe32() as { bin: string };
  const run = learn('probe32', [bin]);
  const names = Object.keys(readRecords(run).at(-1)!.ebpf.syscalls.by_syscall);
  const compat = names.filter((n) => n.startsWith('ia32:'));
  assert.ok(compat.length >= 5 && compat.includes('ia32:exit_group'), `32-bit syscalls named apart: ${names}`);
  assert.equal(names.filter((n) => !n.startsWith('ia32:')), ['execve'], 'only the exec is made by the 64-bit image');
  const filter = seccomp(run, ['--format', 'bpf']);
  const ok = bwrap(filter, [bin]);
  assert.equal([ok.code, ok.stdout], [0, 'ok\n'], ok.stderr);
  assert.is(spawnSync(bin, ['socket']).status, 0, 'the socket opens without a filter');
  assert.is(bwrap(filter, [bin, 'socket']).code, 3, 'the 32-bit socket call failed with EPERM');
  // The 64-bit ABI allows only execve: the 64-bit probe dies or fails at its first other syscall.
  assert.not.equal(bwrap(filter, [compileFixture('seccomp-probe')]).code, 0);
  const oci = JSON.parse(readFileSync(seccomp(run, ['--format', 'oci']), 'utf8'));
  assert.equal(oci.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  assert.equal(oci.syscalls[1].names, compat.map((n) => n.slice(5)).sort());
  const sd = runCli(['seccomp', run, '--format', 'systemd', '-o', '-']);
  assert.is(sd.code, 1);
  assert.match(sd.stderr, /32-bit syscalls .* cannot tie to their ABI/);
}, () => needBwrap() ?? ('why' in probe32() ? (probe32() as { why: string }).why : null));

kernelTest(test, 'diff of real runs: the same workload twice passes a 10% limit; doubled work fails it naming the syscalls that grew', () => {
  const bin = compileFixture('workload');
  const a = learn('work-a', [bin, '1', '3000']);
  const b = learn('work-b', [bin, '1', '3000']);
  const doubled = learn('work-2x', [bin, '1', '6000']);
  const same = runCli(['diff', a, b, '--max-increase', '10%']);
  assert.is(same.code, 0, same.stdout + same.stderr);
  const grew = runCli(['diff', a, doubled, '--max-increase', '10%', '--json']);
  assert.is(grew.code, 1, grew.stderr);
  const report = JSON.parse(grew.stdout);
  const keys = report.breaches.map((x: { key: string }) => x.key);
  assert.ok(keys.includes('syscall:getppid'), `getppid grew: ${keys}`);
  assert.ok(keys.includes('syscalls'));
  assert.not.ok(keys.includes('syscall:read'), 'reads did not grow');
  assert.is(report.syscalls.find((s: { key: string }) => s.key === 'syscall:getppid').head, 6000);
  assert.match(grew.stderr, /syscall:getppid \+100\.0% > 10% \(3,000 → 6,000\)/);
});

test.run();

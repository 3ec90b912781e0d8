// diag: the static checks on made-up machines, the failure → one-line mapping, and the real command
// (exit code, JSON shape, alignment, nothing left loaded or mounted).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelTest, bpfUnavailableReason } from './_lib/privilege.js';
import { decodeCaps, capEff, systemChecks, runDiag, type SystemFacts, type Check } from '../src/diag/index.js';
import { capsCheck, configCheck, kernelCheck, lockdownCheck, memlockCheck, memlockLimit, tracefsCheck, btfCheck } from '../src/diag/system.js';
import { describeFailure, EbpfUnavailableError, type FailureContext } from '../src/tracer/errors.js';
import { BpfError, BtfUnavailableError, TracefsError, VerifierRejectedError } from '../src/loader/index.js';
import { assertVerified, VerifierError } from '../src/verify/static/index.js';
import { R0, R1, exit, ldx, mov64, program } from '../src/asm/index.js';
import { ProgType } from '../src/asm/opcodes.js';
import { EbpfRequiredError } from '../src/session/index.js';
import { EXIT, toUserError } from '../src/cli/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = resolve(here, '../cli.mjs'); // the package's bin, as users run it

const ROOT_CAPS = 'CapEff:\t000001ffffffffff\n';
function facts(over: Partial<SystemFacts> = {}): SystemFacts {
  return {
    release: '6.8.0-test', config: { source: '/boot/config-6.8.0-test', text: 'CONFIG_BPF_SYSCALL=y\nCONFIG_BPF_EVENTS=y\nCONFIG_PERF_EVENTS=y\nCONFIG_FTRACE=y\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_BPF_JIT=y\n' },
    btf: 5_000_000, sysctl: { unprivileged_bpf_disabled: '2', kptr_restrict: '1', perf_event_paranoid: '2' },
    status: ROOT_CAPS, mounts: '', lockdown: '[none] integrity confidentiality', cmdline: '', limits: 'Max locked memory         8388608              8388608              bytes\n',
    uid: 1000, user: 'alice', tracefsAccess: {}, ...over,
  };
}
const caps = (...bits: number[]) => `CapEff:\t${bits.reduce((m, b) => m | (1n << BigInt(b)), 0n).toString(16).padStart(16, '0')}\n`;
const notPassHasFix = (c: Check) => c.status === 'PASS' || (typeof c.fix === 'string' && c.fix.length > 0);

const S = suite('diag: static checks');

S('capabilities decode to names; CapEff is parsed', () => {
  assert.equal(decodeCaps(0x8000000000n), ['CAP_BPF']);
  assert.equal(decodeCaps((1n << 38n) | (1n << 21n)), ['CAP_SYS_ADMIN', 'CAP_PERFMON']);
  assert.not.ok(decodeCaps(0x000001fffeffffffn).includes('CAP_SYS_RESOURCE'));
  assert.is(decodeCaps(0x000001fffeffffffn).length, 40);
  assert.is(capEff('CapInh:\t0\nCapEff:\t0000000000200000\n'), 1n << 21n);
});

S('capabilities: root and CAP_BPF+CAP_PERFMON pass; one of them fails naming the other', () => {
  assert.is(capsCheck(facts()).status, 'PASS');
  assert.is(capsCheck(facts({ status: caps(38, 39) })).status, 'PASS');
  const bpfOnly = capsCheck(facts({ status: caps(39) }));
  assert.is(bpfOnly.status, 'FAIL');
  assert.match(bpfOnly.evidence, /lacks CAP_PERFMON/);
  assert.match(bpfOnly.fix!, /grant_capabilities\.sh/);
  assert.match(capsCheck(facts({ status: caps() })).evidence, /lacks CAP_BPF and CAP_PERFMON/);
  // Before 5.8 the two capabilities do not exist.
  assert.match(capsCheck(facts({ status: caps(38, 39), release: '5.4.0' })).fix!, /root/);
});

S('kernel version: what an old kernel lacks is named with its release', () => {
  assert.is(kernelCheck(facts()).status, 'PASS');
  const old = kernelCheck(facts({ release: '5.4.0-42-generic' }));
  assert.is(old.status, 'WARN');
  assert.match(old.evidence, /batch map reads \(5\.6\).*CAP_BPF and CAP_PERFMON \(5\.8\)/);
  assert.match(kernelCheck(facts({ release: '4.15.0' })).fix!, /tracefs/);
});

S('kernel config: absent is not a failure; missing BPF_SYSCALL is; missing BTF is a warning', () => {
  assert.is(configCheck(facts({ config: null })).status, 'PASS');
  assert.is(configCheck(facts()).status, 'PASS');
  const noSys = configCheck(facts({ config: { source: 'x', text: '# CONFIG_BPF_SYSCALL is not set\nCONFIG_BPF_EVENTS=y\n' } }));
  assert.is(noSys.status, 'FAIL');
  assert.match(noSys.evidence, /CONFIG_BPF_SYSCALL/);
  const noBtf = configCheck(facts({ config: { source: 'x', text: 'CONFIG_BPF_SYSCALL=y\nCONFIG_BPF_EVENTS=y\nCONFIG_PERF_EVENTS=y\nCONFIG_FTRACE=y\n' } }));
  assert.is(noBtf.status, 'WARN');
  assert.is(btfCheck(facts({ btf: 'ENOENT' })).status, 'WARN');
});

S('tracefs: missing without CAP_SYS_ADMIN, and mounted but unreadable, point at the setup script', () => {
  assert.is(tracefsCheck(facts()).status, 'PASS');
  const missing = tracefsCheck(facts({ status: caps(38, 39) }));
  assert.is(missing.status, 'WARN');
  assert.match(missing.fix!, /setup_tracefs_permissions\.sh --user alice/);
  const locked = tracefsCheck(facts({ status: caps(38, 39), tracefsAccess: { '/sys/kernel/tracing': 'EACCES' } }));
  assert.is(locked.status, 'WARN');
  assert.match(locked.evidence, /EACCES/);
  assert.is(tracefsCheck(facts({ status: caps(38, 39), tracefsAccess: { '/sys/kernel/tracing': null } })).status, 'PASS');
});

S('lockdown and memlock: warnings only where they bite', () => {
  assert.is(lockdownCheck(facts()).status, 'PASS');
  assert.is(lockdownCheck(facts({ lockdown: 'none integrity [confidentiality]' })).status, 'WARN');
  assert.is(lockdownCheck(facts({ lockdown: undefined, cmdline: 'ro lockdown=confidentiality' })).status, 'WARN');
  assert.is(memlockLimit('Max locked memory  unlimited  unlimited  bytes'), Infinity);
  assert.is(memlockCheck(facts({ limits: 'Max locked memory 65536 65536 bytes\n' })).status, 'PASS', '6.x does not use memlock');
  const old = memlockCheck(facts({ release: '5.10.0', limits: 'Max locked memory 65536 65536 bytes\n' }));
  assert.is(old.status, 'WARN');
  assert.match(old.fix!, /ulimit -l unlimited/);
});

S('every non-PASS check carries a fix', () => {
  const bad = facts({ release: '5.4.0', status: caps(), config: { source: 'x', text: '' }, btf: 'EACCES', lockdown: '[confidentiality]', limits: 'Max locked memory 1 1 bytes' });
  const checks = systemChecks(bad);
  assert.ok(checks.some((c) => c.status !== 'PASS'));
  for (const c of checks) assert.ok(notPassHasFix(c), c.name);
});

S.run();

const F = suite('describeFailure: one line, cause and fix');

function ctx(over: Partial<FailureContext> = {}): FailureContext {
  return { kernel: [6, 8], caps: 0n, uid: 1000, user: 'alice', sysctl: (n) => ({ unprivileged_bpf_disabled: '2', perf_event_paranoid: '3' } as Record<string, string>)[n], tracefsMounts: [], ...over };
}
const capMask = (...bits: number[]) => bits.reduce((m, b) => m | (1n << BigInt(b)), 0n);
function oneLine(e: EbpfUnavailableError): EbpfUnavailableError {
  assert.not.match(e.reason, /\n/);
  assert.not.match(e.fix, /\n/);
  assert.not.match(e.message, /\n|    at /);
  return e;
}

F('EPERM from bpf(): which capability is missing, with the sysctl as evidence', () => {
  const none = oneLine(describeFailure(new BpfError('BPF_MAP_CREATE', 1), ctx()));
  assert.match(none.reason, /lacks CAP_BPF \(kernel\.unprivileged_bpf_disabled=2\)/);
  assert.match(none.fix, /grant_capabilities\.sh/);
  const bpfOnly = oneLine(describeFailure(new BpfError('BPF_PROG_LOAD', 1), ctx({ caps: capMask(39) })));
  assert.match(bpfOnly.reason, /CAP_PERFMON as well as CAP_BPF/);
  const old = oneLine(describeFailure(new BpfError('BPF_PROG_LOAD', 1), ctx({ kernel: [5, 4], caps: capMask(38, 39) })));
  assert.match(old.reason, /before Linux 5\.8/);
  assert.match(old.fix, /root/);
});

F('EPERM from BPF_MAP_CREATE with the capabilities on a kernel < 5.11 is the memlock limit', () => {
  const e = oneLine(describeFailure(new BpfError('BPF_MAP_CREATE', 1), ctx({ kernel: [5, 10], caps: capMask(21) })));
  assert.match(e.reason, /locked-memory/);
  assert.match(e.fix, /ulimit -l unlimited/);
  assert.match(oneLine(describeFailure(new BpfError('BPF_MAP_CREATE', 12), ctx({ kernel: [5, 4], caps: capMask(21) }))).fix, /memlock|ulimit/i);
});

F('perf_event_open refused: CAP_PERFMON, or raw mode when even that is refused', () => {
  const e = oneLine(describeFailure(new BpfError('perf_event_open(tracepoint 1, cpu 0)', 13), ctx({ caps: capMask(39) })));
  assert.match(e.reason, /CAP_PERFMON.*perf_event_paranoid=3/);
  const patched = oneLine(describeFailure(new BpfError('perf_event_open(tracepoint 1, cpu 0)', 13), ctx({ caps: capMask(38, 39) })));
  assert.match(patched.fix, /--ebpf-attach raw/);
});

F('lockdown and verifier refusals quote the verifier line', () => {
  const log = '0: (85) call bpf_probe_read_kernel#113\nunknown func bpf_probe_read_kernel#113\n';
  const v = new VerifierRejectedError('dp_fork', 22, log, log.trim(), 0);
  const locked = oneLine(describeFailure(v, ctx({ caps: capMask(21), lockdown: 'confidentiality' })));
  assert.match(locked.reason, /unknown func bpf_probe_read_kernel#113.*lockdown=confidentiality/);
  assert.match(locked.fix, /--ebpf-attach tracefs/);
  const plain = oneLine(describeFailure(new VerifierRejectedError('dp_x', 13, 'R1 invalid mem access', 'R1 invalid mem access', 3), ctx({ caps: capMask(21) })));
  assert.match(plain.reason, /program "dp_x" at instruction 3: R1 invalid mem access/);
  assert.match(plain.detail!, /R1 invalid mem access/, 'the whole log is kept for --debug');
});

F('tracefs: not mounted vs mounted but unreadable; BTF missing; old kernels', () => {
  const mountErr = new TracefsError('mount-denied', 'mount -t tracefs nodev /sys/kernel/tracing failed: EPERM (Operation not permitted); mounting needs root (CAP_SYS_ADMIN)');
  assert.match(oneLine(describeFailure(mountErr, ctx())).reason, /not mounted.*CAP_SYS_ADMIN/);
  const unreadable = oneLine(describeFailure(mountErr, ctx({ tracefsMounts: ['/sys/kernel/tracing'] })));
  assert.match(unreadable.reason, /\/sys\/kernel\/tracing is not readable by alice/);
  assert.match(unreadable.fix, /setup_tracefs_permissions\.sh --user alice/);
  const eacces = new TracefsError('access-denied', 'cannot read /sys/kernel/tracing/events/task/task_newtask/format: EACCES', '/sys/kernel/tracing/events/task/task_newtask/format');
  assert.match(oneLine(describeFailure(eacces, ctx({ tracefsMounts: ['/sys/kernel/tracing'] }))).reason, /not readable/);
  assert.match(oneLine(describeFailure(new BtfUnavailableError('/sys/kernel/btf/vmlinux', 'ENOENT'), ctx())).fix, /--ebpf-attach tracefs/);
  assert.match(oneLine(describeFailure(new BpfError('BPF_RAW_TRACEPOINT_OPEN', 22), ctx({ kernel: [4, 14] }))).reason, /4\.17/);
  assert.match(oneLine(describeFailure(new BpfError('BPF_PROG_LOAD', 38), ctx())).fix, /CONFIG_BPF_SYSCALL/);
});

F('a refusal by our own verifier reaches the user with its reason (through --require-ebpf)', () => {
  const bad = program({ name: 'dp_bad', type: ProgType.RAW_TRACEPOINT, items: [mov64.reg(R0, R1), ldx.dw(R0, R0, 4096), exit()] });
  let refusal: unknown;
  try { assertVerified(bad); } catch (err) { refusal = err; }
  assert.instance(refusal, VerifierError);
  const e = describeFailure(refusal, ctx({ caps: capMask(21) }));
  assert.match(e.reason, /our static verifier refused the tracer's program: insn 1 .*: /);
  const user = toUserError(new EbpfRequiredError(e.reason, e.fix));
  assert.match(user.line!, /^eBPF unavailable: our static verifier refused .*insn 1.*--require-ebpf given, nothing started\)$/);
  assert.is(user.exitCode, EXIT.EBPF_REQUIRED);
});

F.run();

// ---- the real command -------------------------------------------------------------------------

function cli(args: string[], prefix: string[] = []) {
  const argv = [...prefix, process.execPath, CLI, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', DENET_DEBUG: '' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
// Only diag loads programs named dp_diag; other BPF users on the machine may come and go meanwhile.
const diagProgs = () => (JSON.parse(spawnSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' }).stdout || '[]') as Array<{ name?: string }>)
  .filter((p) => p.name === 'dp_diag').length;
/** Our own fds that are BPF objects or perf events. */
const bpfFds = () => readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } })
  .filter((l) => /bpf|perf_event/.test(l)).sort();
const traceMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => /tracefs|debugfs/.test(l)).join('\n');
const hasBpftool = () => (spawnSync('sh', ['-c', 'command -v bpftool'], { stdio: 'ignore' }).status === 0 ? bpfUnavailableReason() : 'bpftool not installed');

const K = suite('diag: on this machine');

K('unknown options are usage errors (exit 2)', () => {
  const r = cli(['diag', '--bogus']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown option '--bogus'/);
});

kernelTest(K, '--json: exit 0, both modes count, every check well-formed; nothing left loaded or mounted', () => {
  const mountsBefore = traceMounts();
  const r = cli(['diag', '--json']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.is(doc.ok, true);
  assert.equal(doc.modes, { raw: true, tracefs: true });
  assert.is(doc.exit_code, 0);
  const names = doc.checks.map((c: Check) => c.name);
  for (const n of ['kernel', 'kernel BTF', 'kernel.unprivileged_bpf_disabled', 'kernel.kptr_restrict', 'kernel.perf_event_paranoid', 'capabilities', 'tracefs',
    'bpffs', 'kernel lockdown', 'memlock limit', 'bpf(): create a map', 'bpf(): load a trivial program', 'raw tracepoints: count', 'tracefs tracepoints: count']) {
    assert.ok(names.includes(n), `missing check ${n}`);
  }
  for (const c of doc.checks) {
    assert.ok(['PASS', 'WARN', 'FAIL'].includes(c.status), c.name);
    assert.type(c.evidence, 'string');
    assert.ok(notPassHasFix(c), `${c.name} has no fix`);
    assert.is(c.debug, undefined, 'debug only with --debug');
  }
  const count = doc.checks.find((c: Check) => c.name === 'raw tracepoints: count');
  assert.match(count.evidence, /: [1-9]\d* syscalls counted in the kernel, 1 execve/);
  assert.is(diagProgs(), 0, 'bpftool prog show: no diag program left');
  assert.is(traceMounts(), mountsBefore, 'tracefs mounted for the run was unmounted');
}, hasBpftool);

kernelTest(K, 'in-process: runDiag closes every map, program, link and perf event it opened', async () => {
  const before = bpfFds();
  const report = await runDiag();
  assert.ok(report.ok);
  assert.equal(bpfFds(), before);
});

kernelTest(K, 'human output: one aligned line per check, then the verdict', () => {
  const r = cli(['diag']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => /^(PASS|WARN|FAIL) /.test(l));
  assert.ok(lines.length >= 15, r.stdout);
  // Evidence starts at the same column on every line: the name column is padded to the longest name.
  const col = (l: string) => /^(\S+\s+)(\S.*?\S)(\s{2,})/.exec(l)!.slice(1, 4).reduce((a, s) => a + s.length, 0);
  const cols = new Set(lines.map(col));
  assert.is(cols.size, 1, [...cols].join(','));
  assert.match(r.stdout, /\neBPF counting works \(raw tracepoints: yes, tracefs tracepoints: yes\)/);
});

const dropCaps = ['setpriv', '--bounding-set=-bpf,-perfmon,-sys_admin', '--inh-caps=-bpf,-perfmon,-sys_admin', '--'];
kernelTest(K, 'without BPF privilege: exit 5, FAIL with the fix; --debug adds the raw kernel error', () => {
  const r = cli(['diag'], dropCaps);
  assert.is(r.code, 5, r.stdout + r.stderr);
  assert.match(r.stdout, /^FAIL\s+bpf\(\): create a map\s+BPF_MAP_CREATE was refused \(EPERM\): the process lacks CAP_BPF/m);
  assert.match(r.stdout, /fix: run it through setup\/grant_capabilities\.sh/);
  assert.match(r.stdout, /eBPF counting does NOT work here/);
  assert.not.match(r.stdout, /\| BPF_MAP_CREATE failed/);
  const d = cli(['diag', '--debug'], dropCaps);
  assert.match(d.stdout, /\| BPF_MAP_CREATE failed: EPERM \(Operation not permitted\)/);
  const j = JSON.parse(cli(['--json', 'diag', '--debug'], dropCaps).stdout);
  assert.is(j.exit_code, 5);
  assert.match(j.checks.find((c: Check) => c.name === 'bpf(): create a map').debug, /EPERM/);
}, () => bpfUnavailableReason() ?? (process.getuid?.() === 0 ? null : 'needs root to drop capabilities'));

K.run();

// Least privilege, measured: `diag --json` run as a throwaway non-root user holding only the
// capabilities under test (ambient capabilities via setpriv), with tracefs absent, root-only or
// group-readable, and with the sysctls people are told to change set to other values.
// Needs root (to create the user, mount tracefs, write sysctls); everything is restored in finally
// blocks and checked in `after`. The results are the table in docs/ebpf.md.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelTest } from './_lib/privilege.js';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../..');
const NAME = `dpm${process.pid % 100000}`;
const TF = '/sys/kernel/tracing';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
function why(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (creates a user, mounts tracefs, writes sysctls)';
  for (const c of ['setpriv', 'useradd', 'userdel', 'mount']) if (!have(c)) return `${c} not installed`;
  return null;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// ---- the throwaway user, and a copy of the program it can read ------------------------------------

let uid = -1, gid = -1;
/** Where dist/ is read from by the user: the repo if it can read it, else a world-readable copy. */
let appRoot = REPO;
let copied: string | null = null;

function asUser(caps: string[], args: string[]) {
  const capArgs = caps.length > 0 ? [`--inh-caps=${caps.map((c) => '+' + c).join(',')}`, `--ambient-caps=${caps.map((c) => '+' + c).join(',')}`] : [];
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...capArgs, '--', process.execPath, join(appRoot, 'dist/cli.mjs'), ...args],
    { encoding: 'utf8', cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Diag { code: number | null; modes: { raw: boolean; tracefs: boolean }; check: (name: string) => { status: string; evidence: string; fix?: string } }
function diagAs(caps: string[]): Diag {
  const r = asUser(caps, ['diag', '--json']);
  let doc: any;
  try { doc = JSON.parse(r.stdout); } catch { throw new Error(`diag printed no JSON (exit ${r.code}): ${r.stderr}`); }
  return {
    code: r.code, modes: doc.modes,
    check: (name) => doc.checks.find((c: { name: string }) => c.name === name) ?? assert.unreachable(`no check '${name}' in ${r.stdout}`),
  };
}

function setUp(): void {
  run('useradd', ['-r', '-M', '-U', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', NAME]);
  uid = Number(run('id', ['-u', NAME]).trim());
  gid = Number(run('id', ['-g', NAME]).trim());
  // node must be executable and the repo's dist/ and node_modules/ readable by that uid; if not, run a copy.
  if (asUser([], ['--version']).code !== 0) {
    copied = mkdtempSync(join(tmpdir(), 'denet-pure-priv-'));
    for (const p of ['package.json', 'dist/cli.mjs', 'dist/src', 'node_modules/ffi-rs', 'node_modules/@yuuang', 'node_modules/buffer-layout']) {
      if (existsSync(join(REPO, p))) cpSync(join(REPO, p), join(copied, p), { recursive: true });
    }
    run('chmod', ['-R', 'a+rX', copied]);
    chmodSync(copied, 0o755);
    appRoot = copied;
    console.log(`  [note] ${REPO} is not readable by uid ${uid}: running a world-readable copy in ${copied}`);
    if (asUser([], ['--version']).code !== 0) throw new Error(`uid ${uid} cannot run node (${process.execPath}) or the copy`);
  }
}

function tearDown(): void {
  spawnSync('userdel', [NAME], { stdio: 'ignore' });
  spawnSync('groupdel', [NAME], { stdio: 'ignore' }); // when USERGROUPS_ENAB is off
  if (copied) rmSync(copied, { recursive: true, force: true });
  copied = null;
}

// ---- machine state: sysctls and tracefs, always put back -----------------------------------------

const sysctlPath = (n: string) => `/proc/sys/kernel/${n}`;
const sysctl = (n: string) => readFileSync(sysctlPath(n), 'utf8').trim();

function withSysctl(name: string, value: string, fn: () => void): void {
  const orig = sysctl(name);
  writeFileSync(sysctlPath(name), value);
  try {
    fn();
  } finally {
    writeFileSync(sysctlPath(name), orig);
    assert.is(sysctl(name), orig, `${name} restored`);
  }
}

const traceMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => /\b(tracefs|debugfs)\b/.test(l)).sort().join('\n');
const tfMounted = () => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === TF && l.split(' ')[2] === 'tracefs');

/** tracefs is one superblock whose gid/mode outlive unmounting, so we record them to restore them. */
function tracefsOwnership(): { gid: number; mode: number } {
  const wasMounted = tfMounted();
  if (!wasMounted) run('mount', ['-t', 'tracefs', 'nodev', TF]);
  const st = statSync(TF);
  if (!wasMounted) run('umount', [TF]);
  return { gid: st.gid, mode: st.mode & 0o7777 };
}

type TracefsState = 'absent' | 'root-only' | 'group';
/** Runs fn with tracefs absent, mounted with the default root-only mode, or readable by the user's group. */
function withTracefs(state: TracefsState, fn: () => void): void {
  const wasMounted = tfMounted();
  const own = tracefsOwnership();
  const debugTracing = '/sys/kernel/debug/tracing';
  const debugWasMounted = readFileSync('/proc/mounts', 'utf8').includes(` ${debugTracing} tracefs `);
  try {
    if (state === 'absent') {
      if (debugWasMounted) run('umount', [debugTracing]);
      if (wasMounted) run('umount', [TF]);
    } else {
      const opts = state === 'group' ? `gid=${gid},mode=0750` : 'gid=0,mode=0700';
      if (wasMounted) run('mount', ['-o', `remount,${opts}`, TF]);
      else run('mount', ['-t', 'tracefs', '-o', opts, 'nodev', TF]);
    }
    fn();
  } finally {
    if (!tfMounted()) run('mount', ['-t', 'tracefs', 'nodev', TF]);
    run('mount', ['-o', `remount,gid=${own.gid},mode=${own.mode.toString(8)}`, TF]);
    if (!wasMounted) run('umount', [TF]);
    if (debugWasMounted && !readFileSync('/proc/mounts', 'utf8').includes(` ${debugTracing} tracefs `)) spawnSync('ls', [debugTracing], { stdio: 'ignore' });
  }
}

// ---- the matrix ------------------------------------------------------------------------------

const M = suite('privilege matrix (non-root user, ambient capabilities)');
const BOTH = ['bpf', 'perfmon'];
let before: { mounts: string; sysctls: string[] };
const SYSCTLS = ['unprivileged_bpf_disabled', 'kptr_restrict', 'perf_event_paranoid'];

if (why() === null) {
  M.before(() => {
    before = { mounts: traceMounts(), sysctls: SYSCTLS.map(sysctl) };
    setUp();
  });
  process.on('exit', tearDown);
}

kernelTest(M, 'root: both modes count (tracefs mounted for the run, then unmounted)', () => {
  withTracefs('absent', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'dist/cli.mjs'), 'diag', '--json'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).modes, { raw: true, tracefs: true });
    assert.not.ok(tfMounted(), 'the tracer unmounted what it mounted');
  });
}, why);

kernelTest(M, 'CAP_BPF+CAP_PERFMON, tracefs not mounted: raw counts; tracefs mode would have to mount (CAP_SYS_ADMIN)', () => {
  withTracefs('absent', () => {
    const d = diagAs(BOTH);
    assert.is(d.code, 0);
    assert.equal(d.modes, { raw: true, tracefs: false });
    assert.match(d.check('raw tracepoints: count').evidence, /[1-9]\d* syscalls counted/);
    assert.match(d.check('tracefs tracepoints: load').evidence, /not mounted and mounting it needs CAP_SYS_ADMIN/);
  });
}, why);

kernelTest(M, 'CAP_BPF+CAP_PERFMON as ambient capabilities: counting works, and the command does not inherit them', () => {
  withTracefs('absent', () => {
    const r = asUser(BOTH, ['--require-ebpf', '--quiet', 'run', '--', 'grep', '-E', '^Cap(Amb|Prm|Eff):', '/proc/self/status']);
    assert.is(r.code, 0, r.stderr);
    for (const set of ['CapAmb', 'CapPrm', 'CapEff']) assert.match(r.stdout, new RegExp(`${set}:\\s+0{16}`), `${set} of the command is empty`);
  });
}, why);

kernelTest(M, 'CAP_BPF+CAP_PERFMON, tracefs mounted root-only (the default 0700): raw counts; tracefs unreadable', () => {
  withTracefs('root-only', () => {
    const d = diagAs(BOTH);
    assert.equal(d.modes, { raw: true, tracefs: false });
    assert.is(d.check('tracefs').status, 'WARN');
    assert.match(d.check('tracefs tracepoints: load').evidence, /tracefs at \/sys\/kernel\/tracing is not readable by dpm/);
    assert.match(d.check('tracefs tracepoints: load').fix!, /setup_tracefs_permissions\.sh --user dpm/);
  });
}, why);

kernelTest(M, 'CAP_BPF+CAP_PERFMON, tracefs readable by the group: both modes count', () => {
  withTracefs('group', () => {
    const d = diagAs(BOTH);
    assert.equal(d.modes, { raw: true, tracefs: true });
    assert.match(d.check('tracefs tracepoints: count').evidence, /[1-9]\d* syscalls counted/);
  });
}, why);

kernelTest(M, 'CAP_BPF only: maps yes, tracing programs no (CAP_PERFMON is required), even at perf_event_paranoid=-1', () => {
  withTracefs('group', () => {
    for (const paranoid of [sysctl('perf_event_paranoid'), '-1']) {
      withSysctl('perf_event_paranoid', paranoid, () => {
        const d = diagAs(['bpf']);
        assert.is(d.code, 5);
        assert.is(d.check('bpf(): create a map').status, 'PASS');
        assert.match(d.check('bpf(): load a trivial program').evidence, /EPERM.*CAP_PERFMON as well as CAP_BPF/);
      });
    }
  });
}, why);

kernelTest(M, 'CAP_PERFMON only: bpf() refused for lack of CAP_BPF; with unprivileged_bpf_disabled=0 maps work but programs still do not', () => {
  const d = diagAs(['perfmon']);
  assert.is(d.code, 5);
  assert.match(d.check('bpf(): create a map').evidence, /lacks CAP_BPF/);
  // 1 would lock the setting until reboot: never written. 0 -> previous value is allowed.
  if (sysctl('unprivileged_bpf_disabled') === '1') return console.log('  [note] unprivileged_bpf_disabled=1 (locked): the =0 half is not measurable');
  withSysctl('unprivileged_bpf_disabled', '0', () => {
    for (const caps of [['perfmon'], []]) {
      const u = diagAs(caps);
      assert.is(u.code, 5);
      assert.is(u.check('bpf(): create a map').status, 'PASS', `map with [${caps}] and unprivileged bpf allowed`);
      assert.match(u.check('bpf(): load a trivial program').evidence, /EPERM/);
    }
  });
}, why);

kernelTest(M, 'no capabilities: diag exit 5; --require-ebpf exit 5 with one line; --enable-ebpf degrades with one warning', () => {
  const d = diagAs([]);
  assert.is(d.code, 5);
  assert.equal(d.modes, { raw: false, tracefs: false });
  const req = asUser([], ['--require-ebpf', '-q', 'run', '--', '/bin/true']);
  assert.is(req.code, 5);
  assert.equal(req.stderr.trim().split('\n').length, 1, req.stderr);
  assert.match(req.stderr, /^denet-pure: eBPF unavailable: BPF_MAP_CREATE was refused \(EPERM\): the process lacks CAP_BPF \(kernel\.unprivileged_bpf_disabled=\d\); run it through setup\/grant_capabilities\.sh/);
  const en = asUser([], ['--enable-ebpf', '-q', 'run', '--', '/bin/true']);
  assert.is(en.code, 0, en.stderr);
  assert.match(en.stderr, /^denet-pure: eBPF unavailable: .*; continuing without syscall counts\n$/);
}, why);

kernelTest(M, 'kernel.kptr_restrict=2 does not matter (no kernel addresses are read)', () => {
  withTracefs('group', () => {
    withSysctl('kptr_restrict', '2', () => {
      assert.equal(diagAs(BOTH).modes, { raw: true, tracefs: true });
    });
  });
}, why);

kernelTest(M, 'kernel.perf_event_paranoid 2, 3, 4 and -1 do not matter with CAP_PERFMON, in either mode', () => {
  withTracefs('group', () => {
    for (const v of ['2', '3', '4', '-1']) {
      withSysctl('perf_event_paranoid', v, () => {
        assert.equal(diagAs(BOTH).modes, { raw: true, tracefs: true }, `perf_event_paranoid=${v}`);
      });
    }
  });
}, why);

// Last, as a test of its own (a failing assertion in an `after` hook would end the whole run): the
// machine is left as it was found.
kernelTest(M, 'the machine is left as it was: tracefs/debugfs mounts, sysctls, no throwaway user', () => {
  tearDown();
  assert.is(traceMounts(), before.mounts, 'tracefs/debugfs mounts as before');
  assert.equal(SYSCTLS.map(sysctl), before.sysctls, 'sysctls as before');
  assert.is(spawnSync('id', [NAME], { stdio: 'ignore' }).status, 1, 'throwaway user removed');
}, why);

M.run();

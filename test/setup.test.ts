// setup/*.sh: shellcheck-clean, refuse without root, --dry-run changes nothing, and (as root) a real
// run + second run (idempotent) + undo that leaves the machine as it was, checked end to end: a
// throwaway user started through the wrapper counts in both modes, tracefs reached through the group.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelTest } from './_lib/privilege.js';

const here = dirname(fileURLToPath(import.meta.url));
const SETUP = resolve(here, '../../setup');
const TRACEFS_SH = `${SETUP}/setup_tracefs_permissions.sh`;
const GRANT_SH = `${SETUP}/grant_capabilities.sh`;
const WRAPPER = '/usr/local/bin/denet-pure-ebpf';
const UNIT = '/etc/systemd/system/denet-pure-tracefs.service';
const WANTS = '/etc/systemd/system/multi-user.target.wants/denet-pure-tracefs.service';
const STATE = '/var/lib/denet-pure';
const TAG = `dps${process.pid % 100000}`;
const isRoot = process.getuid?.() === 0;
const ENV = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }; // no SUDO_USER

function sh(cmd: string, args: string[], prefix: string[] = []) {
  const argv = [...prefix, cmd, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: ENV, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const have = (c: string) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status === 0;
/** Runs as nobody when we are root, so "not root" can be tested either way. */
const asNobody = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'] : [];

function mountsOf(...types: string[]): string {
  return readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => types.includes(l.split(' ')[2] ?? '')).sort().join('\n');
}
/** Everything the scripts may touch, as text, to compare before and after. */
function snapshot(): string {
  const groups = readFileSync('/etc/group', 'utf8');
  const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort().join(',') : '-');
  return [groups, mountsOf('tracefs', 'debugfs'), ls('/etc/systemd/system'), ls('/etc/systemd/system/multi-user.target.wants'),
    String(existsSync(WRAPPER)), String(existsSync(STATE)), ls('/etc/sudoers.d')].join('\n---\n');
}

const S = suite('setup scripts');

/** Registers `fn`, or registers it skipped and prints why when `reason` is not null. */
function unless(reason: string | null, name: string, fn: () => void): void {
  if (reason === null) return S(name, fn);
  console.log(`  [skip] ${name}: ${reason}`);
  S.skip(name, fn);
}

unless(have('shellcheck') ? null : 'shellcheck not installed (apt-get install shellcheck)', 'shellcheck finds nothing', () => {
  const r = sh('shellcheck', ['-x', TRACEFS_SH, GRANT_SH, `${SETUP}/lib.sh`]);
  assert.is(r.code, 0, r.out);
});

unless(isRoot && !have('setpriv') ? 'root without setpriv: cannot test as non-root' : null, 'without root: one line, exit 1, nothing done', () => {
  for (const script of [TRACEFS_SH, GRANT_SH]) {
    const r = sh(script, ['--user', 'nobody'], asNobody);
    assert.is(r.code, 1, r.out + r.err);
    assert.is(r.out, '');
    assert.match(r.err, /^\S+\.sh: must run as root \(sudo .* --user nobody\); --dry-run shows what it would do without root\n$/);
  }
});

S('unknown options and unknown users are refused', () => {
  assert.match(sh(TRACEFS_SH, ['--frobnicate', '--dry-run']).err, /unknown option '--frobnicate'/);
  const r = sh(GRANT_SH, ['--dry-run', '--user', 'no-such-user-xyz']);
  assert.is(r.code, 1);
  assert.match(r.err, /no such user 'no-such-user-xyz'/);
});

S('--dry-run prints every step and changes nothing', () => {
  const before = snapshot();
  const t = sh(TRACEFS_SH, ['--dry-run', '--group', TAG, '--user', 'root'], asNobody);
  assert.is(t.code, 0, t.err);
  assert.match(t.out, /^dry run: nothing will be changed/);
  assert.match(t.out, new RegExp(`would run: groupadd --system ${TAG}`));
  assert.match(t.out, new RegExp(`would run: usermod -a -G ${TAG} root`));
  assert.match(t.out, /would (run: mount -t tracefs -o gid=.*,mode=0750 nodev \/sys\/kernel\/tracing|run: mount -o remount,gid=)/);
  assert.match(t.out, /would write: \/etc\/systemd\/system\/denet-pure-tracefs\.service[^]*ExecStart=\/bin\/sh -c '.*mode=0750 \/sys\/kernel\/tracing/);
  assert.match(t.out, /sysctls: none needed/);
  assert.not.match(t.out, /^ {2}run: /m);
  const g = sh(GRANT_SH, ['--dry-run', '--group', TAG], asNobody);
  assert.is(g.code, 0, g.err);
  assert.match(g.out, /would write: \/usr\/local\/bin\/denet-pure-ebpf[^]*--ambient-caps=-all,\+bpf,\+perfmon/);
  const u = sh(TRACEFS_SH, ['--dry-run', '--undo'], asNobody);
  assert.is(u.code, 0, u.err);
  assert.not.match(u.out, /^ {2}run: /m);
  assert.is(snapshot(), before);
});

function rootSetupWhy(): string | null {
  if (!isRoot) return 'needs root (creates a group and a user, mounts tracefs, installs a unit)';
  for (const c of ['setpriv', 'useradd', 'groupadd', 'gpasswd', 'mountpoint']) if (!have(c)) return `${c} not installed`;
  for (const p of [WRAPPER, UNIT, WANTS, STATE]) if (existsSync(p)) return `${p} already exists here: not touching a real installation`;
  return null;
}

/** tracefs keeps gid/mode across unmounts: mount it (if needed) to read them. */
function tracefsOwner(): string {
  const mounted = mountsOf('tracefs').includes(' /sys/kernel/tracing ');
  if (!mounted) sh('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing']);
  const st = statSync('/sys/kernel/tracing');
  if (!mounted) sh('umount', ['/sys/kernel/tracing']);
  return `${st.gid} ${(st.mode & 0o777).toString(8)}`;
}

kernelTest(S, 'real run, second run, end-to-end use, undo: the machine is as before', () => {
  const user = `${TAG}u`, tgroup = `${TAG}t`, cgroup = `${TAG}c`;
  // debugfs mounted for the test, so the /sys/kernel/debug/tracing path is exercised too.
  const debugWasMounted = mountsOf('debugfs').includes(' /sys/kernel/debug ');
  if (!debugWasMounted) sh('mount', ['-t', 'debugfs', 'nodev', '/sys/kernel/debug']);
  const before = snapshot(), ownerBefore = tracefsOwner();
  const debugOwner = () => { const st = statSync('/sys/kernel/debug'); return `${st.gid} ${(st.mode & 0o777).toString(8)}`; };
  const debugBefore = debugOwner();
  assert.is(sh('useradd', ['-r', '-M', '-U', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', user]).code, 0);
  try {
    const t = sh(TRACEFS_SH, ['--user', user, '--group', tgroup]);
    assert.is(t.code, 0, t.out + t.err);
    const gid = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.startsWith(`${tgroup}:`))!.split(':')[2];
    assert.match(sh('id', ['-nG', user]).out, new RegExp(`\\b${tgroup}\\b`));
    assert.is(`${statSync('/sys/kernel/tracing').gid} ${(statSync('/sys/kernel/tracing').mode & 0o777).toString(8)}`, `${gid} 750`);
    assert.is(debugOwner(), `${gid} 710`);
    assert.match(readFileSync(UNIT, 'utf8'), new RegExp(`remount,gid=${gid},mode=0750 /sys/kernel/tracing`));
    assert.ok(existsSync(WANTS) || sh('systemctl', ['is-enabled', 'denet-pure-tracefs.service']).code === 0, 'unit enabled');
    // Both tracefs paths are readable by the group member, and only through the group.
    for (const p of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
      const id = `${p}/events/raw_syscalls/sys_enter/id`;
      assert.is(sh('cat', [id], ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--']).code, 0, `${id} readable by ${user}`);
      assert.not.ok(sh('cat', [id], ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--']).code === 0, `${id} not readable by nobody`);
    }
    const again = sh(TRACEFS_SH, ['--user', user, '--group', tgroup]);
    assert.is(again.code, 0, again.err);
    assert.not.match(again.out, /^ {2}(run|write): /m, 'second run changes nothing');

    const g = sh(GRANT_SH, ['--user', user, '--group', cgroup]);
    assert.is(g.code, 0, g.out + g.err);
    const st = statSync(WRAPPER);
    assert.is(st.uid, 0);
    assert.is(st.mode & 0o777, 0o755);
    assert.not.match(sh(GRANT_SH, ['--user', user, '--group', cgroup]).out, /^ {2}(run|write): /m, 'second run changes nothing');
    // The recommended way end to end: only CAP_BPF+CAP_PERFMON, tracefs through the group.
    const d = sh(WRAPPER, ['--as', user, 'diag', '--json']);
    assert.is(d.code, 0, d.out + d.err);
    const doc = JSON.parse(d.out);
    assert.equal(doc.modes, { raw: true, tracefs: true });
    assert.match(doc.checks.find((c: { name: string }) => c.name === 'capabilities').evidence, new RegExp(`\\(${user}\\), CapEff 000000c000000000: CAP_PERFMON, CAP_BPF$`));
    const refused = sh(WRAPPER, ['diag'], asNobody);
    assert.is(refused.code, 1);
    assert.match(refused.err, /^denet-pure-ebpf: start it through sudo/);

    assert.is(sh(GRANT_SH, ['--undo']).code, 0);
    const u = sh(TRACEFS_SH, ['--undo']);
    assert.is(u.code, 0, u.out + u.err);
    assert.match(u.out, new RegExp(`run: groupdel ${tgroup}`));
  } finally {
    sh(GRANT_SH, ['--undo']);
    sh(TRACEFS_SH, ['--undo']);
    sh('userdel', [user]);
    sh('groupdel', [user]);
  }
  assert.is(debugOwner(), debugBefore, 'debugfs owner restored');
  const debugTracing = '/sys/kernel/debug/tracing';
  if (mountsOf('tracefs').includes(` ${debugTracing} `) && !before.includes(` ${debugTracing} `)) sh('umount', [debugTracing]);
  assert.is(snapshot(), before, 'groups, mounts, unit files, wrapper and state as before');
  assert.is(tracefsOwner(), ownerBefore, 'tracefs owner/mode restored');
  if (!debugWasMounted) sh('umount', ['/sys/kernel/debug']);
}, rootSetupWhy);

S.run();

// The static half of the diagnosis: what the kernel and this process look like, read from /proc and
// /sys. These checks explain; they do not decide (the live attempts in live.ts do). Facts are
// gathered once into plain text so the checks are pure functions, testable on made-up machines.
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { currentUser, kernelRelease, kernelSysctl, mountPoints as mountsOf, readText as read } from '../loader/host.js';
import { capEff, decodeCaps, hasCap, CAP } from './caps.js';
import { pass, warn, fail, type Check } from './types.js';
import { parseKernelVersion } from '../loader/host.js';

export interface SystemFacts {
  release: string;
  /** kernel build config and where it came from; null when neither source exists */
  config: { source: string; text: string } | null;
  /** size of /sys/kernel/btf/vmlinux, or the error code reading it */
  btf: number | string;
  sysctl: Record<'unprivileged_bpf_disabled' | 'kptr_restrict' | 'perf_event_paranoid', string | undefined>;
  /** /proc/self/status */
  status: string;
  /** /proc/mounts */
  mounts: string;
  /** /sys/kernel/security/lockdown, undefined when unreadable */
  lockdown: string | undefined;
  cmdline: string;
  /** /proc/self/limits */
  limits: string;
  uid: number;
  user: string;
  /** for each tracefs mount point: null when its events are readable, else the error code */
  tracefsAccess: Record<string, string | null>;
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

export function mountPoints(mounts: string, fstype: string): string[] {
  return mountsOf(fstype, mounts);
}

export function gatherFacts(): SystemFacts {
  const rel = kernelRelease();
  let config: SystemFacts['config'] = null;
  try {
    config = { source: '/proc/config.gz', text: gunzipSync(readFileSync('/proc/config.gz')).toString('utf8') };
  } catch {
    const text = read(`/boot/config-${rel}`);
    if (text !== undefined) config = { source: `/boot/config-${rel}`, text };
  }
  let btf: number | string;
  try { closeSync(openSync('/sys/kernel/btf/vmlinux', 'r')); btf = statSync('/sys/kernel/btf/vmlinux').size; } catch (e) { btf = errCode(e); }
  const mounts = read('/proc/mounts') ?? '';
  const tracefsAccess: Record<string, string | null> = {};
  for (const m of mountPoints(mounts, 'tracefs')) {
    try { readFileSync(`${m}/events/raw_syscalls/sys_enter/id`); tracefsAccess[m] = null; } catch (e) { tracefsAccess[m] = errCode(e); }
  }
  const { uid, user } = currentUser();
  const sysctl = kernelSysctl;
  return {
    release: rel, config, btf, mounts, tracefsAccess, user,
    sysctl: { unprivileged_bpf_disabled: sysctl('unprivileged_bpf_disabled'), kptr_restrict: sysctl('kptr_restrict'), perf_event_paranoid: sysctl('perf_event_paranoid') },
    status: read('/proc/self/status') ?? '',
    lockdown: read('/sys/kernel/security/lockdown')?.trim(),
    cmdline: read('/proc/cmdline') ?? '',
    limits: read('/proc/self/limits') ?? '',
    uid,
  };
}

const atLeast = (k: [number, number], a: number, b: number) => k[0] > a || (k[0] === a && k[1] >= b);

/** Kernel features by the release that brought them (what we use, or use when present). */
const FEATURES: Array<[number, number, string]> = [
  [4, 17, 'raw tracepoints'], [5, 4, 'BTF in /sys/kernel/btf'], [5, 5, 'bpf_probe_read_kernel'],
  [5, 6, 'batch map reads'], [5, 8, 'CAP_BPF and CAP_PERFMON'], [5, 11, 'BPF memory outside memlock'],
];

export function kernelCheck(f: SystemFacts): Check {
  const k = parseKernelVersion(f.release);
  const missing = FEATURES.filter(([a, b]) => !atLeast(k, a, b)).map(([a, b, what]) => `${what} (${a}.${b})`);
  if (missing.length === 0) return pass('kernel', `Linux ${f.release}: has everything we use (raw tracepoints, BTF, CAP_BPF/CAP_PERFMON, memcg accounting)`);
  const fix = atLeast(k, 4, 17) ? 'works with limits (see the checks below); Linux ≥ 5.8 is recommended' : 'raw mode is impossible; use --ebpf-attach tracefs or a kernel ≥ 5.8';
  return warn('kernel', `Linux ${f.release} lacks: ${missing.join(', ')}`, fix);
}

const CONFIG_NEEDED: Array<[string, string]> = [
  ['CONFIG_BPF_SYSCALL', 'the bpf() syscall'], ['CONFIG_BPF_EVENTS', 'BPF programs on tracepoints'],
  ['CONFIG_PERF_EVENTS', 'perf events (tracefs mode)'], ['CONFIG_FTRACE', 'tracefs (tracefs mode)'],
  ['CONFIG_DEBUG_INFO_BTF', 'kernel BTF (raw mode)'],
];

export function configCheck(f: SystemFacts): Check {
  if (!f.config) return pass('kernel config', `not available (no /proc/config.gz, no /boot/config-${f.release}); the live checks below decide`);
  const off = CONFIG_NEEDED.filter(([opt]) => !new RegExp(`^${opt}=[ym]$`, 'm').test(f.config!.text));
  const jit = /^CONFIG_BPF_JIT=y$/m.test(f.config.text) ? 'JIT' : 'no JIT (interpreted: slower)';
  if (off.length === 0) return pass('kernel config', `${f.config.source}: ${CONFIG_NEEDED.map(([o]) => o.slice(7)).join(', ')} set; ${jit}`);
  const bad = off.map(([o, what]) => `${o} (${what})`).join(', ');
  const fatal = off.some(([o]) => o === 'CONFIG_BPF_SYSCALL' || o === 'CONFIG_BPF_EVENTS');
  const fix = fatal ? 'use a kernel built with CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y' : 'only the mode that needs it is affected; the other may work';
  return fatal ? fail('kernel config', `${f.config.source}: not set: ${bad}`, fix) : warn('kernel config', `${f.config.source}: not set: ${bad}`, fix);
}

export function btfCheck(f: SystemFacts): Check {
  if (typeof f.btf === 'number') return pass('kernel BTF', `/sys/kernel/btf/vmlinux (${(f.btf / 1048576).toFixed(1)} MiB): raw mode finds task_struct offsets there`);
  return warn('kernel BTF', `/sys/kernel/btf/vmlinux unreadable (${f.btf}): raw mode cannot work`,
    'use --ebpf-attach tracefs, or a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux ≥ 5.4)');
}

/** The three sysctls people are told to change. Measured on 6.x: none of them matters when the process has CAP_BPF+CAP_PERFMON. */
export function sysctlChecks(f: SystemFacts): Check[] {
  const s = f.sysctl;
  const v = (x: string | undefined) => x ?? 'unreadable';
  const unprivMeaning: Record<string, string> = {
    '0': 'unprivileged bpf() allowed', '1': 'unprivileged bpf() off, locked until reboot', '2': 'unprivileged bpf() off, admin may change it',
  };
  return [
    pass('kernel.unprivileged_bpf_disabled', `${v(s.unprivileged_bpf_disabled)} (${unprivMeaning[s.unprivileged_bpf_disabled ?? ''] ?? 'unknown'}): ` +
      'irrelevant to us, tracing programs need CAP_BPF+CAP_PERFMON at any value, and those bypass it'),
    pass('kernel.kptr_restrict', `${v(s.kptr_restrict)}: not needed, we read no kernel addresses (offsets come from BTF or tracefs formats)`),
    pass('kernel.perf_event_paranoid', `${v(s.perf_event_paranoid)}: raw mode opens no perf event; tracefs mode opens them with CAP_PERFMON, which bypasses it`),
  ];
}

export function capsCheck(f: SystemFacts): Check {
  const caps = capEff(f.status);
  const names = decodeCaps(caps);
  const admin = hasCap(caps, CAP.SYS_ADMIN), bpf = hasCap(caps, CAP.BPF), perfmon = hasCap(caps, CAP.PERFMON);
  const shown = names.length > 12
    ? `${names.length} capabilities incl. ${['CAP_SYS_ADMIN', 'CAP_BPF', 'CAP_PERFMON'].filter((n) => names.includes(n)).join(', ') || 'none of CAP_SYS_ADMIN/BPF/PERFMON'}`
    : names.join(', ') || 'none';
  const who = `uid ${f.uid} (${f.user}), CapEff ${caps.toString(16).padStart(16, '0')}: ${shown}`;
  const k = parseKernelVersion(f.release);
  if (admin || (bpf && perfmon && atLeast(k, 5, 8))) return pass('capabilities', who);
  const GRANT = 'setup/grant_capabilities.sh denet-pure ... (ambient CAP_BPF+CAP_PERFMON), or sudo';
  if (!atLeast(k, 5, 8)) return fail('capabilities', `${who}; before Linux 5.8 BPF tracing needs CAP_SYS_ADMIN`, 'run as root (sudo)');
  const lacking = [bpf ? '' : 'CAP_BPF', perfmon ? '' : 'CAP_PERFMON'].filter(Boolean).join(' and ');
  return fail('capabilities', `${who}; lacks ${lacking} (tracing programs need both)`, GRANT);
}

export function tracefsCheck(f: SystemFacts): Check {
  const where = Object.entries(f.tracefsAccess);
  const admin = hasCap(capEff(f.status), CAP.SYS_ADMIN);
  if (where.length === 0) {
    return admin
      ? pass('tracefs', 'not mounted; tracefs mode mounts it at /sys/kernel/tracing for the run and unmounts it after (we have CAP_SYS_ADMIN)')
      : warn('tracefs', 'not mounted, and mounting needs CAP_SYS_ADMIN: tracefs mode cannot work (raw mode does not need it)',
        'sudo setup/setup_tracefs_permissions.sh --user ' + f.user + ' (mounts it group-readable at every boot), or use --ebpf-attach raw');
  }
  const readable = where.filter(([, e]) => e === null).map(([m]) => m);
  if (readable.length > 0) return pass('tracefs', `mounted at ${where.map(([m]) => m).join(', ')}; events readable at ${readable.join(', ')}`);
  return warn('tracefs', `mounted at ${where.map(([m, e]) => `${m} (${e})`).join(', ')} but its events are not readable by ${f.user}: tracefs mode cannot work`,
    `sudo setup/setup_tracefs_permissions.sh --user ${f.user}, then log in again; or use --ebpf-attach raw`);
}

export function bpffsCheck(f: SystemFacts): Check {
  const at = mountPoints(f.mounts, 'bpf');
  return pass('bpffs', at.length > 0 ? `mounted at ${at.join(', ')} (not needed: we pin nothing)` : 'not mounted (not needed: we pin nothing)');
}

export function lockdownCheck(f: SystemFacts): Check {
  if (f.lockdown === undefined) {
    const arg = /(?:^|\s)lockdown=(\S+)/.exec(f.cmdline)?.[1];
    return arg && arg !== 'none'
      ? warn('kernel lockdown', `state unreadable (securityfs not mounted), kernel command line says lockdown=${arg}`,
        'lockdown=confidentiality removes the kernel-read helpers raw mode uses: try --ebpf-attach tracefs')
      : pass('kernel lockdown', 'state unreadable (securityfs not mounted at /sys/kernel/security); no lockdown= on the kernel command line');
  }
  const mode = /\[(\w+)\]/.exec(f.lockdown)?.[1] ?? f.lockdown;
  if (mode === 'confidentiality') {
    return warn('kernel lockdown', 'confidentiality: BPF may not read kernel memory (bpf_probe_read_kernel is gone)',
      'use --ebpf-attach tracefs, or boot with lockdown=none / Secure Boot off (it cannot be lifted at run time)');
  }
  return pass('kernel lockdown', `${mode}${mode === 'integrity' ? ' (does not restrict what we do)' : ''}`);
}

/** "Max locked memory  8388608  8388608  bytes" -> soft limit in bytes, Infinity, or undefined. */
export function memlockLimit(limits: string): number | undefined {
  const m = /^Max locked memory\s+(\S+)/m.exec(limits);
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

/** Our maps need a few MiB; on kernels < 5.11 that comes out of RLIMIT_MEMLOCK. */
const MEMLOCK_NEEDED = 32 << 20;

export function memlockCheck(f: SystemFacts): Check {
  const lim = memlockLimit(f.limits);
  const shown = lim === undefined ? 'unknown' : lim === Infinity ? 'unlimited' : `${Math.round(lim / 1024)} KiB`;
  if (atLeast(parseKernelVersion(f.release), 5, 11)) return pass('memlock limit', `${shown}: irrelevant since Linux 5.11 (BPF memory is charged to the memory cgroup)`);
  if (lim !== undefined && lim < MEMLOCK_NEEDED) {
    return warn('memlock limit', `${shown}: this kernel charges BPF maps to it, ours need up to ~${MEMLOCK_NEEDED >> 20} MiB`,
      'ulimit -l unlimited before running, or LimitMEMLOCK=infinity in a systemd unit');
  }
  return pass('memlock limit', `${shown}: enough for our maps`);
}

export function systemChecks(f: SystemFacts): Check[] {
  return [kernelCheck(f), configCheck(f), btfCheck(f), ...sysctlChecks(f), capsCheck(f), tracefsCheck(f), bpffsCheck(f), lockdownCheck(f), memlockCheck(f)];
}

// Turns whatever went wrong while setting up the tracer into one line: the cause and the fix.
// The same errno means different things depending on who we are and on what kernel (EPERM from
// BPF_MAP_CREATE is a missing CAP_BPF on 6.x but an exhausted memlock limit before 5.11), so the
// mapping looks at a small snapshot of the environment. docs/ebpf.md has the measured requirements.
import { BpfError, BtfUnavailableError, TracefsError, VerifierRejectedError } from '../loader/index.js';
import { currentUser, effectiveCaps, kernelRelease, kernelSysctl, lockdownMode, mountPoints, parseKernelVersion } from '../loader/host.js';
import { VerifierError } from '../verify/static/index.js';

/** eBPF counting cannot work here: `reason` says why in one line, `fix` what to do. */
export class EbpfUnavailableError extends Error {
  constructor(readonly reason: string, readonly fix: string, readonly detail?: string) {
    super(`${reason}; ${fix}`);
    this.name = 'EbpfUnavailableError';
  }
}

const CAP_SYS_ADMIN = 21, CAP_PERFMON = 38, CAP_BPF = 39;

/** What the mapping looks at; tests pass their own. */
export interface FailureContext {
  /** [major, minor] of the running kernel */
  kernel: [number, number];
  /** effective capability set (CapEff) */
  caps: bigint;
  uid: number;
  user: string;
  /** value of a kernel.* sysctl, or undefined when unreadable */
  sysctl: (name: string) => string | undefined;
  /** where tracefs is mounted (from /proc/mounts) */
  tracefsMounts: string[];
  /** the selected lockdown mode (none, integrity, confidentiality), when readable */
  lockdown?: string;
}

export { parseKernelVersion };

export function failureContext(): FailureContext {
  return {
    kernel: parseKernelVersion(kernelRelease()),
    caps: effectiveCaps(),
    ...currentUser(),
    sysctl: kernelSysctl,
    tracefsMounts: mountPoints('tracefs'),
    lockdown: lockdownMode(),
  };
}

const atLeast = (k: [number, number], major: number, minor: number) => k[0] > major || (k[0] === major && k[1] >= minor);
const has = (ctx: FailureContext, cap: number) => ((ctx.caps >> BigInt(cap)) & 1n) === 1n;

const GRANT = 'run it through setup/grant_capabilities.sh (ambient CAP_BPF+CAP_PERFMON) or with sudo; see docs/ebpf.md';
const USE_RAW = 'or use --ebpf-attach raw (needs no tracefs)';

function tracefsAccess(ctx: FailureContext, detail: string): EbpfUnavailableError {
  const where = ctx.tracefsMounts[0];
  if (where) {
    return new EbpfUnavailableError(`tracefs at ${where} is not readable by ${ctx.user} (uid ${ctx.uid})`,
      `sudo setup/setup_tracefs_permissions.sh --user ${ctx.user} (then log in again), ${USE_RAW}`, detail);
  }
  return new EbpfUnavailableError('tracefs is not mounted and mounting it needs CAP_SYS_ADMIN',
    `sudo mount -t tracefs nodev /sys/kernel/tracing (setup/setup_tracefs_permissions.sh also does it at boot), ${USE_RAW}`, detail);
}

function permission(err: BpfError, ctx: FailureContext, detail: string): EbpfUnavailableError {
  const k = ctx.kernel.join('.');
  const admin = has(ctx, CAP_SYS_ADMIN), bpf = has(ctx, CAP_BPF) || admin, perfmon = has(ctx, CAP_PERFMON) || admin;
  const cmd = err.command;
  if (cmd.startsWith('perf_event_open')) {
    const paranoid = ctx.sysctl('perf_event_paranoid') ?? '?';
    return perfmon
      ? new EbpfUnavailableError(`perf_event_open was refused (${err.code}) despite CAP_PERFMON (kernel.perf_event_paranoid=${paranoid}; a distribution patch or an LSM policy)`,
        'use --ebpf-attach raw (needs no perf event), or run as root', detail)
      : new EbpfUnavailableError(`perf_event_open was refused (${err.code}): system-wide tracepoint events need CAP_PERFMON (kernel.perf_event_paranoid=${paranoid})`, GRANT, detail);
  }
  if (!atLeast(ctx.kernel, 5, 11) && bpf && cmd === 'BPF_MAP_CREATE') {
    return new EbpfUnavailableError(`${cmd} was refused (${err.code}): kernels before 5.11 (this is ${k}) charge BPF maps to the locked-memory limit`,
      'raise it: ulimit -l unlimited, or LimitMEMLOCK=infinity in a systemd unit', detail);
  }
  if (!atLeast(ctx.kernel, 5, 8) && !admin) {
    return new EbpfUnavailableError(`${cmd} was refused (${err.code}): before Linux 5.8 (this is ${k}) there is no CAP_BPF/CAP_PERFMON, BPF tracing needs CAP_SYS_ADMIN`,
      'run as root (sudo)', detail);
  }
  if (!bpf) {
    const unpriv = ctx.sysctl('unprivileged_bpf_disabled');
    return new EbpfUnavailableError(`${cmd} was refused (${err.code}): the process lacks CAP_BPF` +
      (unpriv !== undefined && unpriv !== '0' ? ` (kernel.unprivileged_bpf_disabled=${unpriv})` : ''), GRANT, detail);
  }
  if (!perfmon) {
    return new EbpfUnavailableError(`${cmd} was refused (${err.code}): tracing programs need CAP_PERFMON as well as CAP_BPF`, GRANT, detail);
  }
  if (ctx.lockdown && ctx.lockdown !== 'none') {
    return new EbpfUnavailableError(`${cmd} was refused (${err.code}): the kernel is locked down (${ctx.lockdown})`,
      'boot without lockdown (lockdown=none, or Secure Boot off); lockdown cannot be lifted at run time', detail);
  }
  return new EbpfUnavailableError(`${cmd} was refused (${err.code}) although the process has CAP_BPF and CAP_PERFMON`,
    'an LSM policy (SELinux, AppArmor, BPF LSM) may forbid bpf(); run `denet-pure diag --debug`', detail);
}

function verifier(err: VerifierRejectedError, ctx: FailureContext, detail: string): EbpfUnavailableError {
  const lines = err.excerpt.split('\n').filter((l) => l.trim() !== '');
  const last = lines.at(-1)?.trim() ?? `${err.code}`;
  const where = `the kernel verifier rejected program "${err.program}"${err.failedInsn !== null ? ` at instruction ${err.failedInsn}` : ''}: ${last}`;
  if (/unknown func/.test(last) && ctx.lockdown === 'confidentiality') {
    return new EbpfUnavailableError(`${where} (kernel lockdown=confidentiality removes the kernel-read helpers)`,
      'use --ebpf-attach tracefs, or boot without lockdown=confidentiality', detail);
  }
  if (/unknown func|invalid func/.test(last) && !atLeast(ctx.kernel, 5, 5)) {
    return new EbpfUnavailableError(`${where} (Linux ${ctx.kernel.join('.')} lacks a helper we use; bpf_probe_read_kernel came in 5.5)`,
      'use a kernel ≥ 5.8', detail);
  }
  return new EbpfUnavailableError(where, 'please report it with the output of `denet-pure diag --debug`', detail);
}

function bpfError(err: BpfError, ctx: FailureContext, detail: string): EbpfUnavailableError {
  const k = ctx.kernel.join('.');
  if (err.code === 'EPERM' || err.code === 'EACCES') return permission(err, ctx, detail);
  if (err.code === 'ENOSYS') return new EbpfUnavailableError(`this kernel (${k}) has no bpf() syscall`, 'use a kernel built with CONFIG_BPF_SYSCALL=y', detail);
  if (err.code === 'ENOMEM') {
    return atLeast(ctx.kernel, 5, 11)
      ? new EbpfUnavailableError(`${err.command} ran out of memory`, 'lower --max-processes/--max-counts or free memory (the memory cgroup limit counts BPF maps)', detail)
      : new EbpfUnavailableError(`${err.command} ran out of locked memory (kernel ${k} < 5.11 charges BPF maps to memlock)`, 'ulimit -l unlimited, or LimitMEMLOCK=infinity in a systemd unit', detail);
  }
  if (err.command === 'BPF_RAW_TRACEPOINT_OPEN') {
    return atLeast(ctx.kernel, 4, 17)
      ? new EbpfUnavailableError(`raw tracepoint attach failed (${err.code}): ${err.message.replace(/^[^:]*: /, '')}`, 'use --ebpf-attach tracefs', detail)
      : new EbpfUnavailableError(`raw tracepoints need Linux 4.17 (this is ${k})`, 'use --ebpf-attach tracefs, or a newer kernel', detail);
  }
  if (err.command === 'BPF_PROG_LOAD' && (err.code === 'EINVAL' || err.code === 'E2BIG')) {
    return new EbpfUnavailableError(`BPF_PROG_LOAD failed (${err.code}) without a verifier log: kernel ${k} may not know the program type or an attribute`,
      'use a kernel ≥ 5.8; `denet-pure diag --debug` shows the raw error', detail);
  }
  return new EbpfUnavailableError(`${err.command} failed (${err.code})`, 'run `denet-pure diag --debug` for the raw error', detail);
}

/** The one-line cause and fix for an error thrown while opening the tracer. Never throws. */
export function describeFailure(err: unknown, ctx: FailureContext = failureContext()): EbpfUnavailableError {
  if (err instanceof EbpfUnavailableError) return err;
  const detail = err instanceof VerifierRejectedError ? `${err.message}\n${err.log}` : err instanceof Error ? err.message : String(err);
  if (err instanceof VerifierRejectedError) return verifier(err, ctx, detail);
  if (err instanceof BpfError) return bpfError(err, ctx, detail);
  if (err instanceof VerifierError) {
    // Our own verifier refused one of our programs: a bug of ours on this kernel, with its reason.
    const first = err.report.errors[0];
    const reason = first ? first.message : 'no reason given';
    return new EbpfUnavailableError(`our static verifier refused the tracer's program: ${reason}`,
      'please report it with the output of `denet-pure diag --debug`; meanwhile try the other --ebpf-attach mode', detail);
  }
  if (err instanceof TracefsError) {
    switch (err.kind) {
      case 'mount-denied':
      case 'access-denied':
      case 'not-mounted':
        return tracefsAccess(ctx, detail);
      case 'no-events':
        return new EbpfUnavailableError('tracefs has no events: the kernel is built without CONFIG_FTRACE/CONFIG_BPF_EVENTS', 'use --ebpf-attach raw', detail);
      case 'no-tracepoint':
        return new EbpfUnavailableError(err.message.split(';')[0]!, 'use --ebpf-attach raw', detail);
      default:
        return new EbpfUnavailableError(`tracefs: ${err.message}`, 'use --ebpf-attach raw', detail);
    }
  }
  if (err instanceof BtfUnavailableError) {
    return new EbpfUnavailableError('no kernel BTF at /sys/kernel/btf/vmlinux: raw mode needs CONFIG_DEBUG_INFO_BTF=y (Linux ≥ 5.4)', 'use --ebpf-attach tracefs', detail);
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new EbpfUnavailableError(`eBPF set-up failed: ${msg.split('\n')[0]}`, 'run `denet-pure diag` for a full diagnosis', detail);
}

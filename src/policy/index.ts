// Public API of the policy layer: decisions from recorded runs. `diff` compares two runs against
// limits; the allow-list learnt from runs becomes a seccomp profile (OCI, systemd, classic BPF).
export { loadRun, describeOrigin, RunFileError, type RunData, type RunOrigin, type SyscallFigures } from './run.js';
export { parseLimits, limitFor, LimitSyntaxError, METRICS, NOISE_FLOOR, type Limit, type MetricKey } from './limits.js';
export { diffRuns, formatValue, formatDelta, formatAbs, DEFAULT_NOISE, type Change, type ChangeStatus, type Breach, type DiffResult, type NoiseOptions } from './diff.js';
export { formatDiff, diffJson, type DiffReportOptions } from './format-diff.js';
export { learnAllowList, PolicyError, type AllowEntry, type AllowList, type LearnOptions } from './allowlist.js';
export {
  seccompProgram, compileSeccomp, denyValue, AUDIT_ARCH, ARCH_AUDIT, SECCOMP_DATA, SECCOMP_RET, X32_SYSCALL_BIT, EPERM, type DenyAction,
} from './seccomp-bpf.js';
export { ociProfile, systemdDropIn, type OciSeccomp } from './seccomp-text.js';
export { seccompNotes, looksLikeSeccomp, retNote } from './seccomp-notes.js';

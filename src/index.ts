// The public, typed API of denet-pure. The CLI (src/cli) is a thin layer over it.
//
// Monitoring: Session (what `run` and `attach` are), SyscallTracer (in-kernel syscall counting and exit
// accounting), ProcessTreeMonitor (/proc sampling of a tree), the record types and their summaries.
// The toolkits are namespaces, because their vocabularies are large and overlap: asm (the eBPF and
// classic-BPF assemblers), loader (bpf() and its objects), vm (the BPF→WebAssembly engine), verifier,
// elf, btf, object (clang-built .o files), policy (diff, seccomp allow-lists), report (the HTML report),
// symbols (naming stack frames after exit), flame (folded stacks and the SVG flame graph).
// Internals (program builders, state-word layouts, /proc parsers) are not exported.

export {
  Session, exitCodeOf, EbpfRequiredError, MonitoringFailedError, SpawnError, SyscallFilterError, EbpfOptionsError, TargetError, foldStacks,
  type SessionOptions, type SessionObserver, type RecordInfo, type RunOptions, type RunResult, type AttachResult,
  type ExitStatus, type EbpfOptions, type StopReason,
} from './session/index.js';

export {
  SyscallTracer, TracerSimulator, EbpfUnavailableError,
  type AttachMode, type SyscallSnapshot, type SyscallTiming, type ThreadCounts, type TracerLosses, type TracerOptions, type ProcessExit,
  type StackOptions, type StackSnapshot, type StackEntry, type StackLoss, type UserFrame,
  type ActivitySnapshot, type ActivityFigures, type ActivityLosses, type ProcessActivity, type ThreadActivity,
  type NetBytes, type NetClass, type GroupAvailability,
} from './tracer/index.js';

export {
  ProcessTreeMonitor, SummaryAccumulator, summarizeRecords, hasSummary, parseJsonLines, recordsToCsv,
  formatLiveLine, formatSummaryTable, formatSyscallTable, formatProcessTable, formatThreadTable, collectEnv, PsiReader, resolveCgroup, cgroupPids, CgroupError,
  type ProcessTreeMonitorOptions, type CgroupTarget, type ParseError, type LiveEbpf, type LiveLineOptions,
} from './monitor/index.js';
export type {
  MonitorRecord, EnvRecord, MetadataRecord, TreeRecord, SampleRecord, ProcessRecord, SummaryRecord,
  Metrics, AggregatedMetrics, ChildEntry, EbpfBlock, EbpfSyscalls, EbpfLosses, EbpfCapability, EbpfStacks, StackLosses,
  EbpfWindow, EbpfFilter, SyscallRow, ProcessSyscalls, ProcessesRest, ThreadSyscalls,
  ActivityMetrics, Capability, NetByClass, NetDirection, ThreadTimes, PsiBlock, PsiResource, PsiFigures,
} from './monitor/types.js';

export {
  CATEGORIES, categoryOf, syscallTable, selectSyscalls, buildSyscallsBlock, buildWindowBlock, buildBySyscall, classify,
  type Category, type Behavior, type SyscallsBlock, type WindowBlock, type SyscallAnalysis, type SyscallCount,
  type ByCategory, type SyscallTable, type SyscallSelection, type TimeEvidence, type TimeShares,
} from './syscalls/index.js';

export * as asm from './asm/index.js';
export * as loader from './loader/index.js';
export * as vm from './vm/index.js';
export * as verifier from './verify/static/index.js';
export * as elf from './elf/index.js';
export * as btf from './btf/index.js';
export * as object from './object/index.js';
export * as policy from './policy/index.js';
export * as report from './report/index.js';
export * as symbols from './symbols/index.js';
export * as flame from './flame/index.js';
export * as prometheus from './export/index.js';

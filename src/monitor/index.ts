// Public API of the monitor layer: /proc sampling of a process tree, records, summaries, rendering.
export type * from './types.js';
export { ProcessTreeMonitor, type ProcessTreeMonitorOptions } from './tree.js';
export { SummaryAccumulator, summarizeRecords, hasSummary, parseJsonLines, recordsToCsv, csvField, type ParseError } from './summary.js';
export { collectEnv, parseCpuList } from './env.js';
export { CgroupError, cgroup2Mounts, cgroupPids, resolveCgroup, type CgroupProblem, type CgroupTarget } from './cgroup.js';
export { adaptiveIntervalMs } from './interval.js';
export { PsiReader, psiCapability, parsePressure, cgroupOf, cgroup2Mount } from './psi.js';
export { formatLiveLine, formatSummaryTable, formatBytes, formatDuration, liveEbpfOf, SUMMARY_SYSCALL_ROWS, type LiveEbpf, type LiveLineOptions } from './format.js';
export {
  formatSyscallTable, formatProcessTable, formatThreadTable, sortRows, errnoList, describeFilter, SYSCALL_SORTS,
  type SyscallSort, type SyscallTableOptions,
} from './format-syscalls.js';
export {
  parseStat,
  parseStatus,
  parseIo,
  parseCmdline,
  parseNetDev,
  type ProcStat,
  type ProcStatus,
  type ProcIo,
  type NetDevTotals,
} from './procfs-parse.js';
export {
  readStat,
  readStatus,
  readIo,
  readCmdline,
  readNetDev,
  readChildPids,
  scanParents,
  listPids,
} from './procfs.js';
export { clockTicksPerSec, pageSize, systemUptimeSecs, bootTimeMs } from './sysconf.js';
export { packageRoot, packageVersion } from './package.js';

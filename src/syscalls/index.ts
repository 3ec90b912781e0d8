// Public API of the syscall layer: number<->name tables, categories, --trace selection and the analysis block.
export { COMPAT_BIT, nameOf, syscallTable } from './table.js';
export type { CompatPrefix, NativeArch, NumberedTable, SyscallTable } from './table.js';
export { CATEGORIES, categoryOf, placedNames } from './categories.js';
export type { Category } from './categories.js';
export { selectSyscalls, type SyscallSelection } from './select.js';
export {
  DOMINANT_SHARE, LOW_RATE_PER_SEC, MIN_ELAPSED_SEC, MIN_THREAD_SECS, MIN_TOTAL,
  buildBySyscall, buildSyscallsBlock, buildWindowBlock, classify, timeShares,
} from './analysis.js';
export type {
  Behavior, BlockOptions, ByCategory, CountsLike, SyscallAnalysis, SyscallCount, SyscallsBlock, TimeEvidence, TimeShares, WindowBlock,
} from './analysis.js';

export { SyscallTracer, tracerPrograms, descendants, featuresOf, ATTACH_POINTS, DEFAULT_FEATURES } from './engine.js';
export { EbpfUnavailableError, describeFailure } from './errors.js';
export { rawLayout, tracefsLayout, type TracerLayout } from './layout.js';
export { TracerSimulator } from './simulate.js';
export { State, Stat, STATE_MASK, CHECK_ABI, COMPAT, tracerMaps, sysEnterProgram, forkProgram, exitProgram } from './programs.js';
export type { AttachMode, SyscallSnapshot, SyscallTiming, ThreadCounts, TracerLosses, TracerOptions } from './types.js';
export type { TracerFeatures } from './detail.js';
export { decodeExit, type ProcessExit, type ExitOffsets } from './exits.js';

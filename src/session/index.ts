// The monitoring session: what `run` and `attach` are, as a typed API.
export { Session, exitCodeOf, type SessionOptions, type SessionObserver, type RecordInfo, type RunOptions, type RunResult, type AttachResult, type ExitStatus } from './session.js';
export { EbpfSampler, openEbpf, type EbpfOptions, type EbpfSetup } from './ebpf.js';
export { EbpfRequiredError, MonitoringFailedError, SpawnError, SyscallFilterError, EbpfOptionsError, TargetError } from './errors.js';
export { Stopper, MAX_TIMER_MS, type StopReason } from './stopper.js';
export { packageVersion } from '../monitor/package.js';
export { StackCollector, foldStacks } from './stacks.js';

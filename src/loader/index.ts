// The loader's public API: raw bpf() wrappers, and the object layer over them.
export * as bpf from './bpf.js';
export {
  mapCreate, mapFreeze, mapLookupElem, mapUpdateElem, mapDeleteElem, mapGetNextKey, mapLookupBatch, mapLookupAndDeleteElem, mapLookupAndDeleteBatch, progLoad, progTestRun,
  objGetInfoByFd, progGetInfo, mapGetInfo, progGetNextId, mapGetNextId, rawTracepointOpen, perfEventOpenTracepoint,
  perfEventOpenBpfOutput, perfEventSetBpf, perfEventEnable, perfEventDisable, closeFd, UpdateFlag, isPerCpuMapType, valueBytes, usesBatchFallback,
  type MapCreateOptions, type BatchArgs, type ProgLoadOptions, type TestRunOptions, type TestRunResult,
} from './bpf.js';
export type { ProgInfo, MapInfo } from './layouts.js';
export { BpfError, VerifierRejectedError, TracefsError, BtfUnavailableError, trimVerifierLog, type TracefsErrorKind } from './errors.js';
export { closeAll, openFds, type OpenFd, type FdKind } from './registry.js';
export * as codec from './codec.js';
export type { Codec } from './codec.js';
export { BpfMap, TypedMap, BPF_F_MMAPABLE } from './map.js';
export { RingBufReader } from './ringbuf.js';
export { PerfBufReader, type PerfBufOptions } from './perfbuf.js';
export { Epoll } from './epoll.js';
export { LoadedProgram, resolveMapRefs, type LoadOptions, type MapSet } from './program.js';
export {
  loadObject, loadObjectProgram, createObjectMaps, attachBtfIdFor, kernelMapSpec, LoadedObject, ObjectLoadError, type ObjectLoadOptions,
} from './object.js';
export { Link, attachRawTracepoint, attachTracepoint } from './attach.js';
export {
  findTracefs, mountTracefs, unmountTracefs, tracepointId, tracepointFormat, parseTracepointFormat,
  type Tracefs, type TracepointField, type TracepointFormat,
} from './tracefs.js';
export { Btf, BtfKind, BtfError, type BtfMember } from '../btf/index.js';
export { possibleCpuCount, onlineCpus, parseCpuList } from './cpus.js';
export { ambientCapabilities, clearAmbientCapabilities } from './caps.js';

// The BPF -> WebAssembly engine: run any BPF bytecode bit-exactly, without BPF privilege.
export { compileToWasm, CompileError, type CompileOptions, type CompiledBpf } from './compile.js';
export type { Isa } from './cfg.js';
export { BpfVm, type HelperFn, type VmOptions, type RunInput, type RunResult } from './runtime.js';
export { VmMap, Errno, UpdateFlags } from './maps.js';
export { BpfFault, type FaultKind } from './fault.js';
export { Region, regionBase, MAP_HANDLE_BASE, MAX_FRAMES, FRAME_SIZE } from './layout.js';
export { VmRingBuf, VmPerfBuf } from './events.js';

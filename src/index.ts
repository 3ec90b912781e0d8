// The public, typed API of denet-pure. The CLI (src/cli) is a thin layer over these.
// The monitor, syscall and tracer layers are flat; the lower layers are namespaced because their
// vocabularies are large and overlap (e.g. parseCpuList in both loader and monitor).
export * from './monitor/index.js';
export * from './syscalls/index.js';
export * from './tracer/index.js';
export * from './session/index.js';
export * as prometheus from './export/index.js';
export * as asm from './asm/index.js';
export * as loader from './loader/index.js';
export * as vm from './vm/index.js';
export * as verifier from './verify/static/index.js';

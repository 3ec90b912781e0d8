// The public, typed API of denet-pure. The CLI (src/cli) is a thin layer over these.
export * from './monitor/index.js';
export type * from './monitor/types.js';
export * from './syscalls/index.js';
export * from './tracer/index.js';
export * from './asm/index.js';

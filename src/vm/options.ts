// The options and result types of BpfVm (runtime.ts).
import type { MapSpec } from '../asm/spec.js';
import type { Isa } from './cfg.js';
import type { BpfVm } from './runtime.js';

/** A helper: receives r1..r5 as unsigned 64-bit values, returns r0. */
export type HelperFn = (vm: BpfVm, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint | number;

export interface VmOptions {
  /** maps (default: the ProgramSpec's) */
  maps?: MapSpec[];
  /** extra or replacement helpers, by id or name ("map_lookup_elem" or "bpf_map_lookup_elem") */
  helpers?: Record<number | string, HelperFn>;
  /** raw bytecode only: map fd (ld_imm64 imm) -> map name; without it imm is an index into `maps` */
  mapFds?: Record<number, string>;
  /** the CPU the program runs on (per-CPU maps, get_smp_processor_id); default 0 */
  cpu?: number;
  /** CPUs per-CPU maps hold values for; default 1 */
  nCpus?: number;
  pid?: number;
  tgid?: number;
  uid?: number;
  gid?: number;
  comm?: string;
  /** value of get_current_task (e.g. the fake address of a task_struct given to addKernelMemory) */
  task?: bigint;
  /** ktime_get_ns and friends; default process.hrtime.bigint */
  clock?: () => bigint;
  /** seed of get_prandom_u32 */
  seed?: number;
  /** instruction budget per run; a run that exceeds it faults (default 16M) */
  maxSteps?: number;
  /** bytes reserved for the context and the data region (defaults 4 KiB and 64 KiB) */
  ctxSize?: number;
  dataSize?: number;
  /**
   * 'linux' (default) refuses every encoding the kernel refuses; 'rfc9669' also runs what the ISA
   * standard defines but Linux refuses: callx (the register holds a helper id, or a function handle
   * from an ld_imm64 of a subprogram), division by a constant 0, constant shifts out of range.
   */
  isa?: Isa;
  /** per-CPU perf buffer size in bytes (like the kernel's data pages); samples beyond it are lost (default unlimited) */
  perfBufferBytes?: number;
  /** longest subprogram compiled as one wasm function; longer ones are split (CompileOptions) */
  maxFunctionInsns?: number;
}

export interface RunInput {
  /** context: bytes, or u64 arguments (raw_tracepoint); r1 points at it */
  ctx?: Uint8Array | bigint[];
  /** data: r1 = pointer, r2 = length (with ctx as well: r1 = ctx, r2 = data pointer) */
  data?: Uint8Array;
  /** overrides r1 */
  r1?: bigint;
}

export interface RunResult {
  /** r0 as an unsigned 64-bit value */
  r0: bigint;
  /** instructions executed */
  steps: number;
}

// The tables of dp_stacks (stacks.ts) and their shapes: options, the two generations, keys and values.
import { MapType, STACK_BUILD_ID_SIZE } from '../asm/abi.js';
import type { MapSpec } from '../asm/spec.js';

export interface StackOptions {
  /** Sample one syscall in `every` per CPU (default 1: every syscall of the tree). */
  every?: number;
  /** Capture the kernel stack too (default false). */
  kernel?: boolean;
  /**
   * Distinct user stacks (and kernel stacks) the tables hold (default 4096). Per generation: the tables
   * are drained as monitoring goes, so this bounds the distinct stacks of one drain period, not of the run.
   */
  maxStacks?: number;
  /** Distinct (process, syscall, stacks) entries per generation (default 16384). */
  maxEntries?: number;
  /** Frames kept per stack, innermost first (default 64; at most 127, kernel.perf_event_max_stack's default). */
  depth?: number;
}

export const STACK_DEFAULTS = { every: 1, kernel: false, maxStacks: 4096, maxEntries: 16384, depth: 64 } as const;
/** Most distinct stacks a table can hold. */
export const MAX_STACKS = 1 << 22;
/** Most frames per stack (the hash is unrolled per frame). */
export const MAX_DEPTH = 127;

/** Slots of `stack_stats`. */
export const StackStat = { COUNTS_FULL: 0 } as const;
export const STACK_STAT_SLOTS = 1;
/**
 * A stack's status in the stack_counts key: OK (its frames are stored under its hash), TABLE_FULL (its
 * frames table was full), NONE (the kernel stack was not asked for), or bpf_get_stack's -errno.
 */
export const StackStatus = { OK: 0, TABLE_FULL: 1, NONE: 2 } as const;
/**
 * stack_counts key: {u32 tgid, u32 nr (compat bit 31), s32 user status, s32 kernel status, u64[2] user
 * stack hash, u64[2] kernel stack hash, char comm[16]} (a hash is 0 unless its status is OK). comm is
 * the name of the thread that made the syscall. tgid is 0 unless the user stack has a bare address (a
 * frame the kernel could give no build id): build-id frames name the same code in every process, so the
 * same syscalls of processes of one name along the same path are one entry, however many processes.
 */
export const STACK_KEY_SIZE = 64;
/** stack_counts value: u64 count. */
export const STACK_VALUE_SIZE = 8;
/** Key of the frames tables: the stack's hash. */
export const FRAMES_KEY_SIZE = 16;

/** Bytes of a user stack of `depth` frames ({build id, offset} each), and of a kernel stack (ips). */
export const userStackBytes = (depth: number): number => STACK_BUILD_ID_SIZE * depth;
export const kernelStackBytes = (depth: number): number => 8 * depth;

export function resolveStackOptions(o: StackOptions = {}): Required<StackOptions> {
  const r = { ...STACK_DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Required<StackOptions>;
  for (const k of ['every', 'maxStacks', 'maxEntries', 'depth'] as const) {
    if (!Number.isInteger(r[k]) || r[k] < 1) throw new RangeError(`stack option ${k} must be a positive integer, got ${r[k]}`);
  }
  if (r.every > 0x7fffffff) throw new RangeError(`stack option every must be below 2^31, got ${r.every}`);
  if (r.maxStacks > MAX_STACKS) throw new RangeError(`stack option maxStacks must be at most ${MAX_STACKS}, got ${r.maxStacks}`);
  if (r.depth > MAX_DEPTH) throw new RangeError(`stack option depth must be at most ${MAX_DEPTH}, got ${r.depth}`);
  return r;
}

/**
 * The two generations of tables. dp_stacks writes those of the generation `stack_gen` names; user
 * space flips it and drains the other one once no program can still be writing it (stacks-drain.ts).
 */
export const GENERATIONS = ['a', 'b'] as const;
export type Generation = (typeof GENERATIONS)[number];

/** The names of one generation's tables. */
export function generationMaps(g: Generation): { frames: string; kframes: string; counts: string } {
  return { frames: `stack_frames_${g}`, kframes: `kstack_frames_${g}`, counts: `stack_counts_${g}` };
}

export function stackMaps(o: Required<StackOptions>): MapSpec[] {
  const maps: MapSpec[] = [];
  for (const g of GENERATIONS) {
    const n = generationMaps(g);
    maps.push(
      { name: n.frames, type: MapType.HASH, keySize: FRAMES_KEY_SIZE, valueSize: userStackBytes(o.depth), maxEntries: o.maxStacks },
      { name: n.counts, type: MapType.HASH, keySize: STACK_KEY_SIZE, valueSize: STACK_VALUE_SIZE, maxEntries: o.maxEntries },
    );
    if (o.kernel) maps.push({ name: n.kframes, type: MapType.HASH, keySize: FRAMES_KEY_SIZE, valueSize: kernelStackBytes(o.depth), maxEntries: o.maxStacks });
  }
  maps.push(
    // Shared by both generations: cumulative.
    { name: 'stack_stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STACK_STAT_SLOTS },
    // The generation dp_stacks writes: 0 (a) or 1 (b).
    { name: 'stack_gen', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 },
    // Where bpf_get_stack writes, per CPU (a stack is larger than the program's own 512 bytes).
    { name: 'stack_buf', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: userStackBytes(o.depth) + (o.kernel ? kernelStackBytes(o.depth) : 0), maxEntries: 1 },
  );
  if (o.every > 1) maps.push({ name: 'stack_tick', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  return maps;
}

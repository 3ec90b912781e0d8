// The tracer's maps, the state word kept per process, and the counters in `stats`.
import { MapType } from '../asm/opcodes.js';
import { BPF_F_MMAPABLE } from '../asm/abi.js';
import type { MapSpec } from '../asm/spec.js';

export const State = { COUNT: 1, ARM: 2, PENDING: 3 } as const;
/** Low byte of a `tracked` value: the State. */
export const STATE_MASK = 0xff;
/** Flag: re-read the task's ABI (64-bit or compat) at its next syscall; set after an execve. */
export const CHECK_ABI = 0x100;
/** Flag: the process runs a 32-bit (compat) image. */
export const COMPAT = 0x200;
/** Flag: do not track the children this process forks (--exclude-children: the process alone). */
export const NO_CHILDREN = 0x400;
/** Flag (on ARM): the children forked while armed get NO_CHILDREN. */
export const CHILDREN_ALONE = 0x800;
/** Bits 16..31 of a state word: the process's row slot + 1; 0 = none yet; NO_SLOT = none left. */
export const SLOT_SHIFT = 16;
export const NO_SLOT = 0xffff;
/** Counters per row: native syscall numbers 0..511, then compat ones at +512. */
export const ROW = 1024;
export const ROW_COMPAT = 512;

/** Slots of the `stats` array map. */
export const Stat = {
  DROPPED_COUNTS: 0, DROPPED_TRACKED: 1, FORKS: 2, EXITS: 3, EPOCH: 4, NEXT_SLOT: 5, DROPPED_EXITS: 6,
  // Detail mode (detail.ts): the next free cell; returns not recorded (no cell left), entries not
  // recorded (in-flight overflow full), errnos not counted, per-thread counts not recorded.
  NEXT_CELL: 7, DROPPED_DETAILS: 8, DROPPED_INFLIGHT: 9, DROPPED_ERRNOS: 10, DROPPED_THREADS: 11,
  // The ring of recycled cells (retire-detail.ts): positions taken by the kernel, given by user space.
  FREE_TAKEN: 12, FREE_GIVEN: 13,
} as const;
export const STAT_SLOTS = 14;

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const EEXIST = 17;
export const CLONE_THREAD = 0x10000;

export interface MapSizes {
  maxProcesses: number;
  maxCounts: number;
  /** Processes that get an array row (ROW u64 counters each; default 256); the rest count in the hash. */
  maxSlots?: number;
  /** Count the processes of a cgroup (src/tracer/cgroup.ts): adds the `cgroup` map. */
  cgroup?: boolean;
}
export const DEFAULT_SLOTS = 256;

export function tracerMaps(sizes: MapSizes): MapSpec[] {
  return [
    { name: 'tracked', type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: sizes.maxProcesses },
    { name: 'counts', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: sizes.maxCounts },
    { name: 'stats', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: STAT_SLOTS },
    // Mmapable: user space reads the rows in place, with no syscall (a batch read of 2 MiB of array
    // takes tens of milliseconds: the kernel walks it element by element).
    { name: 'rows', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: (sizes.maxSlots ?? DEFAULT_SLOTS) * ROW, flags: BPF_F_MMAPABLE },
    { name: 'slots', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: sizes.maxSlots ?? DEFAULT_SLOTS, flags: BPF_F_MMAPABLE },
    // {u32 tgid, u32 state, u64 epoch}
    { name: 'cache', type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 },
    exitsMap(sizes.maxProcesses),
    ...(sizes.cgroup ? [cgroupMap()] : []),
  ];
}


export const CGROUP_MAP = 'cgroup';

/** CGROUP_ARRAY with one slot: the monitored cgroup (user space stores a descriptor of its directory). */
export function cgroupMap(): MapSpec {
  return { name: CGROUP_MAP, type: MapType.CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 };
}

/** Byte offsets in an exits value (u64 unless noted). */
export const ExitValue = {
  CPU_NS: 0, RCHAR: 8, WCHAR: 16, READ_BYTES: 24, WRITE_BYTES: 32, CANCELLED: 40, MINFLT: 48, MAJFLT: 56,
  THREADS: 64, MAXRSS_PAGES: 72, EXIT_NS: 80,
  /** u32: the wait-style status (code << 8, or the signal number) */
  STATUS: 88,
  /** u32 */
  FLAGS: 92,
  /** u32 */
  PPID: 96,
  /** char[16] */
  COMM: 104,
  SIZE: 120,
} as const;
/** FLAGS: the whole thread group has exited. */
export const EXIT_DEAD = 1;
export const EXIT_KEY_SIZE = 16;

/** exits: {u32 tgid, u32 0, u64 start_boottime} -> ExitValue, one entry per process that had a thread exit. */
export function exitsMap(maxProcesses: number): MapSpec {
  return { name: 'exits', type: MapType.HASH, keySize: EXIT_KEY_SIZE, valueSize: ExitValue.SIZE, maxEntries: maxProcesses };
}


// Detail mode: errors and time per (process, syscall), and counts per thread.
//
// sys_enter records each counted syscall's entry in `inflight`, a direct-mapped table indexed by a
// hash of the thread id (an array: its lookup is inlined by the JIT, where a hash costs ~60 ns);
// dp_sys_exit finds it there, so the pair costs two array lookups and no hash on the common path.
// Two threads in a syscall at once whose ids land on the same entry: the second one's entry goes to
// `inflight_spill` (a hash keyed by pid_tgid), and the entry counts how many did, so an exit of a
// thread not found in the array looks in the hash only when something was spilled there.
//
// Each (process, syscall) that returned has a cell: errors, total and maximum time, and a log2
// histogram. Cells are handed out from `cells` (mmapable: read in place): first those user space has
// freed (exited processes', retire-detail.ts) from the ring `cell_free`, else by an atomic counter; a
// process with a row slot finds its cell through `cell_of` (an array parallel to `rows`), others
// through `cell_hash`. Per errno, failed calls count in `errnos`. Every full table is counted.
import {
  R0, R1, R2, R7, R8, R9, R10, add64, mov64, mul32, rsh32, ldx, st, stx, atomic, ja, jeq, jne, jge, call, label, ldMapFd,
} from '../asm/index.js';
import type { Instruction, Label, Reg } from '../asm/index.js';
import { MapType } from '../asm/opcodes.js';
import type { MapSpec } from '../asm/spec.js';
import { BPF_F_MMAPABLE } from '../asm/abi.js';
import { BPF_ANY, BPF_NOEXIST, DEFAULT_SLOTS, EEXIST, ROW, Stat, type MapSizes } from './maps.js';
import { bumpStat, increment, lookup, uniqueLabel, updateElem } from './blocks.js';
import { DEFAULT_MAX_DETAILS } from './limits.js';

/** What the programs do beyond counting calls per (process, syscall). */
export interface TracerFeatures {
  /** Errors and time per (process, syscall): a sys_exit program pairs each return with its entry. */
  detail: boolean;
  /** Counts per (thread, syscall) as well. */
  perThread: boolean;
  /** Only failed calls are counted, at their return (needs detail). */
  failedOnly: boolean;
  /** Only the syscalls marked in `trace_set` are counted (checked first thing in sys_enter's count path). */
  filter: boolean;
}

/** Today's single-program mode: counts per (process, syscall), nothing else. */
export const COUNT_ONLY: TracerFeatures = Object.freeze({ detail: false, perThread: false, failedOnly: false, filter: false });

/** log2 of the in-flight table's size: 16384 entries of 32 bytes (512 KiB). */
export const INFLIGHT_BITS = 14;
export const INFLIGHT_SLOTS = 1 << INFLIGHT_BITS;
/** Knuth's multiplicative hash: neighbouring thread ids land far apart (no shared cache lines). */
const GOLDEN = 0x9e3779b1 | 0;

/** An `inflight` entry: u64 pid_tgid (0 = free), u64 entry time (ns), u32 nr key, u32 row + 1 (0: none), u32 spilled. */
export const Inflight = { ID: 0, TS: 8, NR: 16, ROW: 20, SPILLED: 24, SIZE: 32 } as const;

/** Histogram buckets: 0 = under 1 µs; i = [2^(i-1), 2^i) µs; the last one is open-ended (≥ 2^26 µs, 67 s). */
export const HIST_BUCKETS = 28;
/** A cell: u32 tgid, u32 nr key, u64 errors, total ns, max ns, then the histogram. */
export const Cell = { TGID: 0, NR: 4, ERRORS: 8, TOTAL_NS: 16, MAX_NS: 24, HIST: 32, SIZE: 32 + 8 * HIST_BUCKETS } as const;
/** A `thread_names` value: u32 tgid, u32 0, char comm[16]. */
export const ThreadValue = { TGID: 0, COMM: 8, SIZE: 24 } as const;

/** Default bound of the detail tables: (process, syscall) pairs with a cell (256 B each: 4 MiB), and errno counters. */
export const DEFAULT_DETAILS = DEFAULT_MAX_DETAILS;

export interface DetailSizes extends MapSizes {
  /** Cells, i.e. (process, syscall) pairs whose errors and time are recorded; also bounds `errnos`. */
  maxDetails?: number;
}

/** The maps the features add to the tracer's. */
export function featureMaps(sizes: DetailSizes, f: TracerFeatures): MapSpec[] {
  const maps: MapSpec[] = [];
  const details = sizes.maxDetails ?? DEFAULT_DETAILS;
  if (f.filter) {
    // Index: the syscall number, +512 for the compat ABI (the rows' layout); 1 = counted.
    maps.push({ name: 'trace_set', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: ROW });
  }
  if (f.detail) {
    maps.push(
      { name: 'inflight', type: MapType.ARRAY, keySize: 4, valueSize: Inflight.SIZE, maxEntries: INFLIGHT_SLOTS },
      // pid_tgid -> {u64 ts, u32 nr key, u32 row + 1}: entries whose array slot was taken.
      { name: 'inflight_spill', type: MapType.HASH, keySize: 8, valueSize: 16, maxEntries: sizes.maxProcesses },
      { name: 'cell_of', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: (sizes.maxSlots ?? DEFAULT_SLOTS) * ROW },
      // {tgid, nr key} -> cell + 1, for processes without a row slot.
      { name: 'cell_hash', type: MapType.HASH, keySize: 8, valueSize: 4, maxEntries: details },
      { name: 'cells', type: MapType.ARRAY, keySize: 4, valueSize: Cell.SIZE, maxEntries: details, flags: BPF_F_MMAPABLE },
      // A ring of cell ids freed by user space (exited processes' cells, retire-detail.ts), reused first.
      { name: 'cell_free', type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: details },
      // {tgid, nr key, errno, 0} -> failed calls.
      { name: 'errnos', type: MapType.HASH, keySize: 16, valueSize: 8, maxEntries: details },
    );
  }
  if (f.perThread) {
    maps.push(
      // {tid, nr key} -> calls.
      { name: 'thread_counts', type: MapType.HASH, keySize: 8, valueSize: 8, maxEntries: sizes.maxCounts },
      { name: 'thread_names', type: MapType.HASH, keySize: 4, valueSize: ThreadValue.SIZE, maxEntries: sizes.maxProcesses },
    );
  }
  return maps;
}

// Stack slots the feature blocks share between sys_enter and sys_exit (below sys_enter's own, -52 and up).
/** u64 pid_tgid (the tid in its low word). */
export const S_ID = -64;
/** u32 row index + 1 (0: the process counts in the hash). */
export const S_ROW = -68;
/** u32 nr key: the syscall number, with COMPAT_BIT for a compat task. */
export const S_NR = -72;
/** u64 entry time. */
export const S_TS = -80;
const S_SPILL = -96;
const S_THREAD_KEY = -104;
const S_THREAD_VAL = -128;

/** r = the in-flight index of the thread id in r's low word (32-bit arithmetic zero-extends). */
export const inflightIndex = (r: number): Instruction[] => [mul32.imm(r, GOLDEN), rsh32.imm(r, 32 - INFLIGHT_BITS)];

/**
 * sys_enter: records this thread's entry (time, nr key, row) for sys_exit. Expects S_ID, S_NR and
 * S_ROW on the stack; clobbers r0-r5 and r9.
 */
export function recordEntry(): (Instruction | Label)[] {
  const [done, claimed, full] = [uniqueLabel('rec_done'), uniqueLabel('rec_claimed'), uniqueLabel('rec_full')];
  return [
    call('ktime_get_ns'),
    stx.dw(R10, S_TS, R0),
    ldx.w(R1, R10, S_ID),
    ...inflightIndex(R1),
    stx.w(R10, -4, R1),
    ...lookup('inflight', -4),
    jeq.imm(R0, 0, done),
    mov64.reg(R9, R0),
    // Claim the entry: free (0), or left by this very thread (a syscall whose return was not seen).
    ldx.dw(R1, R10, S_ID),
    mov64.imm(R0, 0),
    atomic.cmpxchg.dw(R9, Inflight.ID, R1),
    jeq.imm(R0, 0, claimed),
    jeq.reg(R0, R1, claimed),
    // Another thread in a syscall holds it: this entry goes to the overflow hash.
    ldx.dw(R1, R10, S_TS),
    stx.dw(R10, S_SPILL, R1),
    ldx.w(R1, R10, S_NR),
    stx.w(R10, S_SPILL + 8, R1),
    ldx.w(R1, R10, S_ROW),
    stx.w(R10, S_SPILL + 12, R1),
    ...updateElem('inflight_spill', S_ID, S_SPILL, BPF_ANY),
    jne.imm(R0, 0, full),
    mov64.imm(R1, 1),
    atomic.add.w(R9, Inflight.SPILLED, R1),
    ja(done),
    label(full),
    ...bumpStat(Stat.DROPPED_INFLIGHT, -28),
    ja(done),
    label(claimed),
    ldx.dw(R1, R10, S_TS),
    stx.dw(R9, Inflight.TS, R1),
    ldx.w(R1, R10, S_NR),
    stx.w(R9, Inflight.NR, R1),
    ldx.w(R1, R10, S_ROW),
    stx.w(R9, Inflight.ROW, R1),
    label(done),
  ];
}

/**
 * Counts one call of this thread: thread_counts[{tid, nr key}] += 1; the first time a pair is seen,
 * the thread's process and name are (re)recorded. Expects r7 = tgid, S_ID and S_NR; clobbers r0-r5.
 */
export function countThread(): (Instruction | Label)[] {
  const [done, insert, named, drop] = [uniqueLabel('thr_done'), uniqueLabel('thr_insert'), uniqueLabel('thr_named'), uniqueLabel('thr_drop')];
  return [
    ldx.w(R1, R10, S_ID),
    stx.w(R10, S_THREAD_KEY, R1),
    ldx.w(R1, R10, S_NR),
    stx.w(R10, S_THREAD_KEY + 4, R1),
    ...lookup('thread_counts', S_THREAD_KEY),
    jeq.imm(R0, 0, insert),
    ...increment(),
    ja(done),
    label(insert),
    st.dw(R10, S_THREAD_VAL, 1),
    ...updateElem('thread_counts', S_THREAD_KEY, S_THREAD_VAL, BPF_NOEXIST),
    jeq.imm(R0, 0, named),
    jne.imm(R0, -EEXIST, drop),
    ...lookup('thread_counts', S_THREAD_KEY),
    jeq.imm(R0, 0, drop),
    ...increment(),
    ja(done),
    label(named),
    stx.w(R10, S_THREAD_VAL + ThreadValue.TGID, R7),
    st.w(R10, S_THREAD_VAL + 4, 0),
    mov64.reg(R1, R10),
    add64.imm(R1, S_THREAD_VAL + ThreadValue.COMM),
    mov64.imm(R2, 16),
    call('get_current_comm'),
    // The key's first word is the tid: the `thread_names` key.
    ...updateElem('thread_names', S_THREAD_KEY, S_THREAD_VAL, BPF_ANY),
    jeq.imm(R0, 0, done),
    label(drop),
    ...bumpStat(Stat.DROPPED_THREADS, -28),
    label(done),
  ];
}

/**
 * dp_exit, for every exiting thread: frees its in-flight entry (exit and exit_group never return; a
 * thread killed in a syscall neither). Expects the pid_tgid at `idOff` on the stack; clobbers r0-r5.
 */
export function clearInFlight(idOff: number, scratchOff: number): (Instruction | Label)[] {
  const [done, spill] = [uniqueLabel('clr_done'), uniqueLabel('clr_spill')];
  return [
    ldx.w(R1, R10, idOff),
    ...inflightIndex(R1),
    stx.w(R10, scratchOff, R1),
    ...lookup('inflight', scratchOff),
    jeq.imm(R0, 0, done),
    ldx.dw(R1, R0, Inflight.ID),
    ldx.dw(R2, R10, idOff),
    jne.reg(R1, R2, spill),
    st.dw(R0, Inflight.ID, 0),
    ja(done),
    label(spill),
    ldx.w(R1, R0, Inflight.SPILLED),
    jeq.imm(R1, 0, done),
    ldMapFd(R1, 'inflight_spill'),
    mov64.reg(R2, R10),
    add64.imm(R2, idOff),
    call('map_delete_elem'),
    jne.imm(R0, 0, done),
    ...lookup('inflight', scratchOff),
    jeq.imm(R0, 0, done),
    mov64.imm(R1, -1),
    atomic.add.w(R0, Inflight.SPILLED, R1),
    label(done),
  ];
}

/** dp_exit with per-thread counts: the exiting thread's name, as it is at its end. Key (tid) at `tidOff`; clobbers r0-r5. */
export function renameThread(tidOff: number): (Instruction | Label)[] {
  const done = uniqueLabel('ren_done');
  return [
    ...lookup('thread_names', tidOff),
    jeq.imm(R0, 0, done),
    mov64.reg(R1, R0),
    add64.imm(R1, ThreadValue.COMM),
    mov64.imm(R2, 16),
    call('get_current_comm'),
    label(done),
  ];
}

/**
 * --trace: jumps to `out` unless trace_set marks `nr` (the number; r8 in sys_enter) + r2 (512 for
 * compat, else 0). Clobbers r0-r5 and the stack word at -4. dp_stacks shares it, so it samples exactly
 * the calls sys_enter counts.
 */
export function filterCheck(out: string, nr: Reg = R8): (Instruction | Label)[] {
  return [
    // Numbers past a row's half (ARM's private calls) are never selected.
    jge.imm(nr, ROW / 2, out),
    mov64.reg(R1, nr),
    add64.reg(R1, R2),
    stx.w(R10, -4, R1),
    ...lookup('trace_set', -4),
    jeq.imm(R0, 0, out),
    ldx.w(R1, R0, 0),
    jeq.imm(R1, 0, out),
  ];
}

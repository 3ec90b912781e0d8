// dp_sys_exit: pairs each return of a counted syscall with its entry (detail.ts) and records, per
// (process, syscall), whether it failed and how long it took, from entry to exit (wall clock).
import {
  R0, R1, R2, R3, R6, R7, R8, R9, R10, add64, sub64, mov64, mod64, rsh64, neg64, ldx, ldImm64, st, stx, atomic, ja, jeq, jne, jge, jsgt, jslt, call, label, ldMapFd,
} from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { MAX_ERRNO } from '../asm/abi.js';
import { BPF_NOEXIST, EEXIST, Stat } from './maps.js';
import { bumpStat, increment, lookup, returnZero, tracepointProgram, uniqueLabel, updateElem } from './blocks.js';
import {
  Cell, HIST_BUCKETS, Inflight, S_ID, S_NR, S_ROW, S_TS, countThread, inflightIndex, type TracerFeatures,
} from './detail.js';

/** Where the exit program finds the syscall's return value. */
export interface SysExitLayout {
  type: 'raw' | 'tracefs';
  /** raw sys_exit(regs, ret): args[1] = 8; tracefs raw_syscalls/sys_exit: the `ret` field. */
  retOffset: number;
  ctxSize: number;
}

// Stack: -4 array index, -16 {tgid, nr key}, -24 a u64 to insert, -28 stat index, -40 FREE_GIVEN, -56 errno key {tgid, nr key, errno, 0},
// -60 a cell id, -64.. the shared slots of detail.ts (S_ID, S_ROW, S_NR, S_TS, the thread key/value).
const KEY = -16, SCRATCH = -24, ERRKEY = -56, CELLID = -60;
/** u64: FREE_GIVEN as allocateCell read it (-40..-33: free between the stat index and the errno key). */
const GIVEN = -40;

/** The histogram bucket of the duration in r8 (ns): a binary search whose leaves add r1 to their bucket. */
function bucketSearch(lo: number, hi: number, done: string): (Instruction | Label)[] {
  if (lo === hi) return [atomic.add.dw(R9, Cell.HIST + 8 * lo, R1), ja(done)];
  const mid = (lo + hi + 1) >> 1;
  const threshold = 1000 * 2 ** (mid - 1); // bucket `mid` starts at 2^(mid-1) µs
  const right = uniqueLabel('hist_ge');
  const cmp = threshold < 2 ** 31 ? [jge.imm(R8, threshold, right)] : [ldImm64(R2, threshold), jge.reg(R8, R2, right)];
  return [...cmp, ...bucketSearch(lo, mid - 1, done), label(right), ...bucketSearch(mid, hi, done)];
}

/**
 * A new cell for {r7 tgid, S_NR}: r1 = its id + 1; jumps to `none` when the cells are used up.
 * Cells given back first: user space writes freed ids at ring positions FREE_GIVEN,
 * FREE_GIVEN + 1, ... (modulo the ring's size, which is the number of cells: no id is in it twice),
 * then raises FREE_GIVEN; a taker claims position FREE_TAKEN by raising it with compare-and-swap (three
 * tries against other CPUs, then a fresh cell). Clobbers r0-r5, keeps r6-r9.
 */
function allocateCell(maxCells: number, none: string): (Instruction | Label)[] {
  const [fresh, got, claim] = [uniqueLabel('cell_fresh'), uniqueLabel('cell_got'), uniqueLabel('cell_claim')];
  const freshCell = [
    label(fresh),
    st.w(R10, -28, Stat.NEXT_CELL),
    ...lookup('stats', -28),
    jeq.imm(R0, 0, none),
    mov64.imm(R1, 1),
    atomic.fetchAdd.dw(R0, 0, R1),
    jge.imm(R1, maxCells, none),
    label(claim),
  ];
  // r3 = &stats[FREE_TAKEN], r0 = its value: a try to take position r0 (r0 = the new value on losing).
  const attempt = (): Instruction[] => [
    ldx.dw(R2, R10, GIVEN),
    jge.reg(R0, R2, fresh),
    mov64.reg(R1, R0),
    mov64.reg(R2, R0),
    add64.imm(R2, 1),
    atomic.cmpxchg.dw(R3, 0, R2),
    jeq.reg(R0, R1, got),
  ];
  return [
    st.w(R10, -28, Stat.FREE_GIVEN),
    ...lookup('stats', -28),
    jeq.imm(R0, 0, fresh),
    ldx.dw(R1, R0, 0),
    stx.dw(R10, GIVEN, R1),
    st.w(R10, -28, Stat.FREE_TAKEN),
    ...lookup('stats', -28),
    jeq.imm(R0, 0, fresh),
    mov64.reg(R3, R0),
    ldx.dw(R0, R3, 0),
    ...attempt(), ...attempt(), ...attempt(),
    ja(fresh),
    label(got),
    mod64.imm(R1, maxCells),
    stx.w(R10, -4, R1),
    ...lookup('cell_free', -4),
    jeq.imm(R0, 0, fresh),
    ldx.w(R1, R0, 0),
    jge.imm(R1, maxCells, fresh),
    ja(claim),
    ...freshCell,
    ...publish(none),
  ];
}

/** r1 = the cell id claimed: stores it at CELLID, writes its owner; r1 = id + 1. */
function publish(none: string): (Instruction | Label)[] {
  return [
    stx.w(R10, CELLID, R1),
    stx.w(R10, -4, R1),
    ...lookup('cells', -4),
    jeq.imm(R0, 0, none),
    // Its owner is written before anyone can find it; a cell that loses a race below stays empty.
    stx.w(R0, Cell.TGID, R7),
    ldx.w(R1, R10, S_NR),
    stx.w(R0, Cell.NR, R1),
    ldx.w(R1, R10, CELLID),
    add64.imm(R1, 1),
  ];
}

/** failed-only: the call is counted here, at its return, in its row or in the hash (as sys_enter does otherwise). */
function countAtExit(f: TracerFeatures): (Instruction | Label)[] {
  const [hash, insert, drop, done] = [uniqueLabel('fx_hash'), uniqueLabel('fx_insert'), uniqueLabel('fx_drop'), uniqueLabel('fx_done')];
  const items: (Instruction | Label)[] = [
    ldx.w(R1, R10, S_ROW),
    jeq.imm(R1, 0, hash),
    add64.imm(R1, -1),
    stx.w(R10, -4, R1),
    ...lookup('rows', -4),
    jeq.imm(R0, 0, hash),
    ...increment(),
    ja(done),
    label(hash),
    stx.w(R10, KEY, R7),
    ldx.w(R1, R10, S_NR),
    stx.w(R10, KEY + 4, R1),
    ...lookup('counts', KEY),
    jeq.imm(R0, 0, insert),
    ...increment(),
    ja(done),
    label(insert),
    st.dw(R10, SCRATCH, 1),
    ...updateElem('counts', KEY, SCRATCH, BPF_NOEXIST),
    jeq.imm(R0, 0, done),
    jne.imm(R0, -EEXIST, drop),
    ...lookup('counts', KEY),
    jeq.imm(R0, 0, drop),
    ...increment(),
    ja(done),
    label(drop),
    ...bumpStat(Stat.DROPPED_COUNTS, -28),
    label(done),
  ];
  if (f.perThread) items.push(...countThread());
  return items;
}

/**
 * Registers: r6 the context, then the errno (0: success); r7 tgid; r8 the duration (ns); r9 the
 * in-flight entry, then the cell.
 */
export function sysExitProgram(layout: SysExitLayout, maps: MapSpec[], f: TracerFeatures): ProgramSpec {
  const maxCells = maps.find((m) => m.name === 'cells')?.maxEntries ?? 0;
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    call('get_current_pid_tgid'),
    stx.dw(R10, S_ID, R0),
    mov64.reg(R7, R0),
    rsh64.imm(R7, 32),
    ldx.w(R1, R10, S_ID),
    ...inflightIndex(R1),
    stx.w(R10, -4, R1),
    ...lookup('inflight', -4),
    jeq.imm(R0, 0, 'out'),
    mov64.reg(R9, R0),
    ldx.dw(R1, R9, Inflight.ID),
    ldx.dw(R2, R10, S_ID),
    jne.reg(R1, R2, 'spilled'),
    ldx.dw(R1, R9, Inflight.TS),
    stx.dw(R10, S_TS, R1),
    ldx.w(R1, R9, Inflight.NR),
    stx.w(R10, S_NR, R1),
    ldx.w(R1, R9, Inflight.ROW),
    stx.w(R10, S_ROW, R1),
    // Free it: only this thread writes an entry it holds.
    st.dw(R9, Inflight.ID, 0),
    ja('paired'),

    // Not in the array: in the overflow hash if anything was spilled at this index (else not ours).
    label('spilled'),
    ldx.w(R1, R9, Inflight.SPILLED),
    jeq.imm(R1, 0, 'out'),
    ...lookup('inflight_spill', S_ID),
    jeq.imm(R0, 0, 'out'),
    ldx.dw(R1, R0, 0),
    stx.dw(R10, S_TS, R1),
    ldx.w(R1, R0, 8),
    stx.w(R10, S_NR, R1),
    ldx.w(R1, R0, 12),
    stx.w(R10, S_ROW, R1),
    ldMapFd(R1, 'inflight_spill'),
    mov64.reg(R2, R10),
    add64.imm(R2, S_ID),
    call('map_delete_elem'),
    jne.imm(R0, 0, 'paired'),
    mov64.imm(R1, -1),
    atomic.add.w(R9, Inflight.SPILLED, R1),

    label('paired'),
    call('ktime_get_ns'),
    mov64.reg(R8, R0),
    ldx.dw(R1, R10, S_TS),
    sub64.reg(R8, R1),
    // The result: -4095..-1 is an error (its errno negated), anything else a value.
    ldx.dw(R1, R6, layout.retOffset),
    mov64.imm(R6, 0),
    jsgt.imm(R1, -1, 'result'),
    jslt.imm(R1, -MAX_ERRNO, 'result'),
    mov64.reg(R6, R1),
    neg64(R6),
    label('result'),
  ];
  if (f.failedOnly) items.push(jeq.imm(R6, 0, 'out'), ...countAtExit(f));
  items.push(
    // The cell of (process, syscall): through cell_of for a process with a row, else cell_hash.
    ldx.w(R1, R10, S_ROW),
    jeq.imm(R1, 0, 'by_hash'),
    add64.imm(R1, -1),
    stx.w(R10, -4, R1),
    ...lookup('cell_of', -4),
    jeq.imm(R0, 0, 'no_cell'),
    mov64.reg(R9, R0),
    ldx.w(R1, R9, 0),
    jne.imm(R1, 0, 'have_cell'),
    ...allocateCell(maxCells, 'no_cell'),
    // Publish it unless a sibling thread on another CPU did first: then use that one.
    mov64.imm(R0, 0),
    atomic.cmpxchg.w(R9, 0, R1),
    jeq.imm(R0, 0, 'have_cell'),
    mov64.reg(R1, R0),
    ja('have_cell'),

    label('by_hash'),
    stx.w(R10, KEY, R7),
    ldx.w(R1, R10, S_NR),
    stx.w(R10, KEY + 4, R1),
    ...lookup('cell_hash', KEY),
    jeq.imm(R0, 0, 'hash_new'),
    ldx.w(R1, R0, 0),
    ja('have_cell'),
    label('hash_new'),
    ...allocateCell(maxCells, 'no_cell'),
    stx.w(R10, CELLID, R1),
    ...updateElem('cell_hash', KEY, CELLID, BPF_NOEXIST),
    jeq.imm(R0, 0, 'hash_inserted'),
    jne.imm(R0, -EEXIST, 'no_cell'),
    ...lookup('cell_hash', KEY),
    jeq.imm(R0, 0, 'no_cell'),
    ldx.w(R1, R0, 0),
    ja('have_cell'),
    label('hash_inserted'),
    ldx.w(R1, R10, CELLID),

    label('have_cell'),
    add64.imm(R1, -1),
    stx.w(R10, -4, R1),
    ...lookup('cells', -4),
    jeq.imm(R0, 0, 'no_cell'),
    mov64.reg(R9, R0),
    atomic.add.dw(R9, Cell.TOTAL_NS, R8),
    // The maximum: compare-and-swap, retried while another CPU changes it under us (bounded).
    ldx.dw(R0, R9, Cell.MAX_NS),
  );
  for (let i = 0; i < 3; i++) {
    items.push(jge.reg(R0, R8, 'max_done'), mov64.reg(R1, R0), atomic.cmpxchg.dw(R9, Cell.MAX_NS, R8), jeq.reg(R0, R1, 'max_done'));
  }
  items.push(
    label('max_done'),
    mov64.imm(R1, 1),
    ...bucketSearch(0, HIST_BUCKETS - 1, 'hist_done'),
    label('hist_done'),
    jeq.imm(R6, 0, 'out'),
    mov64.imm(R1, 1),
    atomic.add.dw(R9, Cell.ERRORS, R1),
    stx.w(R10, ERRKEY, R7),
    ldx.w(R1, R10, S_NR),
    stx.w(R10, ERRKEY + 4, R1),
    stx.w(R10, ERRKEY + 8, R6),
    st.w(R10, ERRKEY + 12, 0),
    ...lookup('errnos', ERRKEY),
    jeq.imm(R0, 0, 'errno_new'),
    ...increment(),
    ja('out'),
    label('errno_new'),
    st.dw(R10, SCRATCH, 1),
    ...updateElem('errnos', ERRKEY, SCRATCH, BPF_NOEXIST),
    jeq.imm(R0, 0, 'out'),
    jne.imm(R0, -EEXIST, 'errno_drop'),
    ...lookup('errnos', ERRKEY),
    jeq.imm(R0, 0, 'errno_drop'),
    ...increment(),
    ja('out'),
    label('errno_drop'),
    ...bumpStat(Stat.DROPPED_ERRNOS, -28),
    ja('out'),
    label('no_cell'),
    ...bumpStat(Stat.DROPPED_DETAILS, -28),
    ...returnZero('out'),
  );
  return tracepointProgram('dp_sys_exit', layout, items, maps);
}

// Retiring exited processes' detail (errors, time, errnos) for a long attach with process churn: each
// (process, syscall) that returned owns a cell, so without this the cells (--max-details) are used up
// by the first few thousand processes and every later return goes untimed. Here an exited process's
// cells are folded into per-syscall totals and given back to the kernel, which reuses them first
// (allocateCell in sys-exit.ts); its errno counters are taken out of `errnos` as `counts` are.
//
// The cells are read after `tracked`, so a process forked in between may own a cell without being in
// the set read: a process is retired only once absent from `tracked` at two reads in a row (a suspect,
// then gone). At the second read its cells are final: they are counted in that read like any other,
// their values kept, and their `cell_hash` entries deleted (a row's `cell_of` entries are never looked
// up again: row slots are not reused). A cell is zeroed and given back one read later, after adding
// whatever landed in it meanwhile (a writer that found it just before the delete, its pid reused by a
// new process): nothing is lost, nothing counted twice, no cell reaches its next owner dirty.
import type { BpfMap } from '../loader/index.js';
import { errnoName } from '../asm/abi.js';
import { Cell, HIST_BUCKETS } from './detail.js';
import { Stat } from './maps.js';
import type { SyscallTiming } from './types.js';

/** A cell's figures: errors, total ns, max ns, then the histogram buckets. */
export type CellValues = number[];
const FIELDS = 3 + HIST_BUCKETS;
/** Byte offset of each figure in a cell. */
const OFFSETS = [Cell.ERRORS, Cell.TOTAL_NS, Cell.MAX_NS, ...Array.from({ length: HIST_BUCKETS }, (_, b) => Cell.HIST + 8 * b)];
const MAX = 2;

interface Retiring {
  cell: number;
  tgid: number;
  nr: number;
  values: CellValues;
}

export class RetiredDetail {
  /** The figures of retired cells, by syscall number (compat numbers with their bit). */
  private readonly byNr = new Map<number, CellValues>();
  /** Retired failed calls by syscall number and errno. */
  private readonly errnosByNr = new Map<number, Map<number, number>>();
  /** Processes absent from `tracked` at the previous read that had cells or errno counters. */
  private suspects = new Set<number>();
  private readonly seenAbsent = new Set<number>();
  private live: ReadonlySet<number> = new Set();
  /** Cells retired at this read (counted in it), then waiting a read to be given back. */
  private retiring: Retiring[] = [];
  private pending: Retiring[] = [];
  private readonly pendingCells = new Set<number>();
  private errnoKeys: Array<{ key: Buffer; nr: number; errno: number; read: number }> = [];
  /** Ring positions given so far (stats[FREE_GIVEN]). */
  private given = 0;
  /** Cells given back to the kernel so far (for tests and diagnostics). */
  recycled = 0;
  private readonly zero = Buffer.alloc(Cell.SIZE);
  private readonly key = Buffer.alloc(8);
  private readonly u32 = Buffer.alloc(4);
  private readonly u64 = Buffer.alloc(8);
  private readonly pos = Buffer.alloc(4);
  private readonly now: CellValues = new Array<number>(FIELDS).fill(0);

  constructor(private readonly maps: { cells: BpfMap; cellHash: BpfMap; cellFree: BpfMap; errnos: BpfMap; stats: BpfMap }) {}

  /**
   * Before reading the cells: `live` is this read's `tracked`. The cells retired at the previous read
   * get what landed in them since, are zeroed and go back to the kernel.
   */
  begin(live: ReadonlySet<number>): void {
    this.live = live;
    if (this.pending.length === 0) return;
    const words = cellWords(this.maps.cells.mmap());
    for (const r of this.pending) {
      const now = readValues(words, r.cell, this.now);
      let stray = false;
      for (let i = 0; i < FIELDS; i++) {
        if (i !== MAX && now[i]! > r.values[i]!) stray = true;
        now[i] = i === MAX ? now[i]! : now[i]! - r.values[i]!;
      }
      if (stray) this.fold(r.nr, now, now[MAX]!);
      this.u32.writeUInt32LE(r.cell);
      this.maps.cells.update(this.u32, this.zero);
      this.pos.writeUInt32LE(this.given % this.maps.cellFree.spec.maxEntries);
      this.maps.cellFree.update(this.pos, this.u32);
      this.given++;
      this.recycled++;
      this.pendingCells.delete(r.cell);
    }
    this.pending = [];
    // Published after the ids: a taker reads a position only below FREE_GIVEN.
    this.u32.writeUInt32LE(Stat.FREE_GIVEN);
    this.u64.writeBigUInt64LE(BigInt(this.given));
    this.maps.stats.update(this.u32, this.u64);
  }

  /** A cell given back is not read until the kernel hands it out again (it is counted in the totals). */
  skips(cell: number): boolean {
    return this.pendingCells.has(cell);
  }

  /** A cell as this read found it. */
  seeCell(cell: number, tgid: number, nr: number, values: CellValues): void {
    if (this.live.has(tgid)) return;
    if (this.suspects.has(tgid)) this.retiring.push({ cell, tgid, nr, values: [...values] });
    else this.seenAbsent.add(tgid);
  }

  /** An errno counter {tgid, nr key, errno} as this read found it. */
  seeErrno(key: Buffer, tgid: number, nr: number, errno: number, count: number): void {
    if (this.live.has(tgid)) return;
    if (this.suspects.has(tgid)) this.errnoKeys.push({ key: Buffer.from(key), nr, errno, read: count });
    else this.seenAbsent.add(tgid);
  }

  /**
   * After reading: adds what earlier reads retired to `timing`, then retires this read's (already in
   * `timing` as read), adding to it what their errno counters gained between the read and the take.
   */
  finish(timing: Map<string, SyscallTiming>, nameOf: (nr: number) => string): void {
    const at = (nr: number): SyscallTiming => {
      const name = nameOf(nr);
      let t = timing.get(name);
      if (!t) timing.set(name, (t = { errors: 0, errnos: new Map(), totalNs: 0, maxNs: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) }));
      return t;
    };
    for (const [nr, v] of this.byNr) {
      const t = at(nr);
      t.errors += v[0]!;
      t.totalNs += v[1]!;
      t.maxNs = Math.max(t.maxNs, v[MAX]!);
      for (let b = 0; b < HIST_BUCKETS; b++) t.hist[b]! += v[3 + b]!;
    }
    for (const [nr, byErrno] of this.errnosByNr) {
      const t = at(nr);
      for (const [e, n] of byErrno) t.errnos.set(errnoName(e), (t.errnos.get(errnoName(e)) ?? 0) + n);
    }

    const retiredNow = new Set<number>();
    for (const r of this.retiring) {
      this.fold(r.nr, r.values, r.values[MAX]!);
      retiredNow.add(r.tgid);
      this.key.writeUInt32LE(r.tgid, 0);
      this.key.writeUInt32LE(r.nr, 4);
      this.maps.cellHash.remove(this.key);
      this.pending.push(r);
      this.pendingCells.add(r.cell);
    }
    this.retiring = [];
    for (const k of this.errnoKeys) {
      retiredNow.add(k.key.readUInt32LE(0));
      const v = this.maps.errnos.lookupAndDelete(k.key);
      if (v === undefined) continue;
      const taken = Number(v.readBigUInt64LE(0));
      let byErrno = this.errnosByNr.get(k.nr);
      if (!byErrno) this.errnosByNr.set(k.nr, (byErrno = new Map()));
      byErrno.set(k.errno, (byErrno.get(k.errno) ?? 0) + taken);
      if (taken !== k.read) {
        const t = at(k.nr);
        const name = errnoName(k.errno);
        t.errnos.set(name, (t.errnos.get(name) ?? 0) + taken - k.read);
      }
    }
    this.errnoKeys = [];
    // Suspects seen again and retired are done; the ones absent for the first time are next.
    for (const tgid of retiredNow) this.seenAbsent.delete(tgid);
    this.suspects = new Set(this.seenAbsent);
    this.seenAbsent.clear();
  }

  private fold(nr: number, values: CellValues, max: number): void {
    let into = this.byNr.get(nr);
    if (!into) this.byNr.set(nr, (into = new Array<number>(FIELDS).fill(0)));
    for (let i = 0; i < FIELDS; i++) if (i !== MAX) into[i]! += values[i]!;
    into[MAX] = Math.max(into[MAX]!, max);
  }
}

/** The 32-bit words of the mapped cells. */
export const cellWords = (buf: Buffer): Uint32Array => new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);

/** A cell's figures read in place (a counter may carry into its high half between two reads: read high, low, high). */
export function readValues(words: Uint32Array, cell: number, out: CellValues = new Array<number>(FIELDS)): CellValues {
  const base = (cell * Cell.SIZE) >>> 2;
  for (let i = 0; i < FIELDS; i++) {
    const w = base + (OFFSETS[i]! >>> 2);
    let hi = words[w + 1]!, lo = words[w]!;
    if (words[w + 1] !== hi) [hi, lo] = [words[w + 1]!, words[w]!];
    out[i] = lo + hi * 0x1_0000_0000;
  }
  return out;
}

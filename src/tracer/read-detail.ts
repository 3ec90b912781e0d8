// Reads what detail mode and per-thread mode record (detail.ts) into the snapshot's maps.
import type { BpfMap } from '../loader/index.js';
import { errnoName } from '../asm/abi.js';
import { Cell, HIST_BUCKETS, ThreadValue } from './detail.js';
import { cellWords, readValues, type CellValues, type RetiredDetail } from './retire-detail.js';
import type { SyscallTiming, ThreadCounts } from './types.js';

type NameOf = (nrKey: number) => string;

const emptyTiming = (): SyscallTiming => ({ errors: 0, errnos: new Map(), totalNs: 0, maxNs: 0, hist: new Array<number>(HIST_BUCKETS).fill(0) });

/**
 * The first `used` cells, read in place through the map's mapping, summed per syscall name (a pair
 * may own two cells after a race between sibling threads; the loser stays empty), with the failed
 * calls per process; then the errnos. `retire` (long attach) sees each cell and errno counter, and
 * skips the cells it has given back.
 */
export function readTiming(cells: BpfMap, used: number, errnos: BpfMap, nameOf: NameOf, retire?: RetiredDetail): { timing: Map<string, SyscallTiming>; errorsByProcess: Map<number, number> } {
  const timing = new Map<string, SyscallTiming>();
  const errorsByProcess = new Map<number, number>();
  if (used > 0) {
    const words = cellWords(cells.mmap());
    const v: CellValues = [];
    for (let c = 0; c < used; c++) {
      const w = (c * Cell.SIZE) / 4;
      const tgid = words[w + Cell.TGID / 4]!;
      if (tgid === 0 || retire?.skips(c)) continue; // allocated, never published; or given back
      const nr = words[w + Cell.NR / 4]!;
      const name = nameOf(nr);
      let t = timing.get(name);
      if (!t) timing.set(name, (t = emptyTiming()));
      readValues(words, c, v);
      const errors = v[0]!;
      t.errors += errors;
      t.totalNs += v[1]!;
      t.maxNs = Math.max(t.maxNs, v[2]!);
      for (let b = 0; b < HIST_BUCKETS; b++) t.hist[b]! += v[3 + b]!;
      if (errors > 0) errorsByProcess.set(tgid, (errorsByProcess.get(tgid) ?? 0) + errors);
      retire?.seeCell(c, tgid, nr, v);
    }
  }
  for (const [key, value] of errnos.rawEntries()) {
    const nr = key.readUInt32LE(4);
    const name = nameOf(nr);
    let t = timing.get(name);
    if (!t) timing.set(name, (t = emptyTiming()));
    const errno = key.readUInt32LE(8);
    const e = errnoName(errno);
    const n = Number(value.readBigUInt64LE(0));
    t.errnos.set(e, (t.errnos.get(e) ?? 0) + n);
    retire?.seeErrno(key, key.readUInt32LE(0), nr, errno, n);
  }
  return { timing, errorsByProcess };
}

/** Calls per thread, with each thread's process and name. */
export function readThreads(counts: BpfMap, threads: BpfMap, nameOf: NameOf): Map<number, ThreadCounts> {
  const out = new Map<number, ThreadCounts>();
  const info = new Map<number, { pid: number; comm: string }>();
  for (const [key, v] of threads.rawEntries()) {
    const nul = v.indexOf(0, ThreadValue.COMM);
    const end = nul < 0 || nul > ThreadValue.COMM + 16 ? ThreadValue.COMM + 16 : nul;
    info.set(key.readUInt32LE(0), { pid: v.readUInt32LE(ThreadValue.TGID), comm: v.toString('utf8', ThreadValue.COMM, end) });
  }
  for (const [key, value] of counts.rawEntries()) {
    const tid = key.readUInt32LE(0);
    let t = out.get(tid);
    if (!t) {
      // A thread whose name could not be recorded (full table) is still listed, under pid 0.
      const i = info.get(tid) ?? { pid: 0, comm: '' };
      out.set(tid, (t = { pid: i.pid, comm: i.comm, bySyscall: new Map() }));
    }
    const name = nameOf(key.readUInt32LE(4));
    t.bySyscall.set(name, (t.bySyscall.get(name) ?? 0) + Number(value.readBigUInt64LE(0)));
  }
  return out;
}

// What the kernel has credited to *this* process for the children it reaped. When the monitor itself
// is the parent of the root (`run`), the root's whole final totals — everything it and its reaped
// descendants did, up to the very end — arrive here when Node reaps it, after the last sample could
// read /proc/ROOT. Reading our own counters before and after recovers them exactly.
import { readdirSync } from 'node:fs';
import { CPU, MAJFLT, MINFLT, NC, RBYTES, RCHAR, WBYTES, WCHAR } from './member.js';
import { parseIo, parseStat, type ProcIo } from './procfs-parse.js';
import { PROC_ROOT, readText } from './procfs.js';
import { clockTicksPerSec } from './sysconf.js';

function ioOf(path: string): ProcIo | null {
  const text = readText(path);
  return text === null ? null : parseIo(text);
}

/**
 * Counters credited to this process for reaped children: CPU seconds (cutime+cstime), cminflt/cmajflt,
 * and the I/O of /proc/self/io beyond what its live threads did themselves.
 */
export function reapedTotals(root = PROC_ROOT): Float64Array {
  const out = new Float64Array(NC);
  const statText = readText(`${root}/self/stat`);
  const st = statText === null ? null : parseStat(statText);
  if (st) {
    out[CPU] = (st.cutime + st.cstime) / clockTicksPerSec();
    out[MINFLT] = st.cminflt;
    out[MAJFLT] = st.cmajflt;
  }
  // /proc/self/io = its live threads' I/O + what exited threads and reaped children left behind.
  const all = ioOf(`${root}/self/io`);
  if (all) {
    let rchar = all.rchar, wchar = all.wchar, rbytes = all.readBytes, wbytes = all.writeBytes;
    let tids: string[] = [];
    try {
      tids = readdirSync(`${root}/self/task`);
    } catch { /* no per-thread view: count it all */ }
    for (const tid of tids) {
      const t = ioOf(`${root}/self/task/${tid}/io`);
      if (!t) continue;
      rchar -= t.rchar;
      wchar -= t.wchar;
      rbytes -= t.readBytes;
      wbytes -= t.writeBytes;
    }
    out[RCHAR] = rchar;
    out[WCHAR] = wchar;
    out[RBYTES] = rbytes;
    out[WBYTES] = wbytes;
  }
  return out;
}

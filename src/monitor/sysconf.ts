// System constants and clocks the stat fields are expressed in: USER_HZ, the page size, uptime, boot time.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { PROC_ROOT, readText } from './procfs.js';

let auxvCache: Map<number, number> | null = null;

/** The ELF auxiliary vector of this process: the kernel hands every process AT_CLKTCK and AT_PAGESZ here. */
function auxv(): Map<number, number> {
  if (auxvCache) return auxvCache;
  const m = new Map<number, number>();
  try {
    const b = readFileSync('/proc/self/auxv');
    const word = process.arch === 'arm' || process.arch === 'ia32' ? 4 : 8;
    const le = endianness() === 'LE';
    const read = (o: number) =>
      word === 8 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o);
    for (let off = 0; off + 2 * word <= b.length; off += 2 * word) {
      const type = read(off);
      if (type === 0) break; // AT_NULL ends the vector
      m.set(type, read(off + word));
    }
  } catch {
    // unreadable auxv: callers fall back to the usual constants
  }
  auxvCache = m;
  return m;
}

const AT_PAGESZ = 6;
const AT_CLKTCK = 17;

/** USER_HZ, the unit of the tick fields of /proc/PID/stat. sysconf is not reachable from node; auxv carries it. 100 if unreadable. */
export function clockTicksPerSec(): number {
  return auxv().get(AT_CLKTCK) || 100;
}

/** Bytes per page (the unit of stat's rss); 4096 if auxv is unreadable. */
export function pageSize(): number {
  return auxv().get(AT_PAGESZ) || 4096;
}

/** Seconds since boot (CLOCK_BOOTTIME, the clock of stat's starttime). */
export function systemUptimeSecs(root = PROC_ROOT): number {
  const t = readText(`${root}/uptime`);
  return t === null ? 0 : parseFloat(t) || 0;
}

/** Boot time in ms since the epoch (whole seconds: /proc/stat btime). */
export function bootTimeMs(root = PROC_ROOT): number {
  // /proc/uptime is precise to 10 ms; btime in /proc/stat only to the second.
  const up = readText(`${root}/uptime`);
  const secs = up === null ? NaN : parseFloat(up);
  if (Number.isFinite(secs)) return Date.now() - secs * 1000;
  const t = readText(`${root}/stat`);
  const m = t === null ? null : /^btime (\d+)/m.exec(t);
  return m ? Number(m[1]) * 1000 : 0;
}

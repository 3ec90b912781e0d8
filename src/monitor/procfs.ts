// Readers and parsers for /proc. Processes vanish at any moment: every reader returns null
// (or a "gone" status) instead of throwing for ENOENT/ESRCH, and treats EACCES/EPERM as "absent".
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

export const PROC_ROOT = '/proc';

const GONE = new Set(['ENOENT', 'ESRCH']);
const DENIED = new Set(['EACCES', 'EPERM']);

export function isGoneError(err: unknown): boolean {
  return GONE.has((err as NodeJS.ErrnoException)?.code ?? '');
}
export function isDeniedError(err: unknown): boolean {
  return DENIED.has((err as NodeJS.ErrnoException)?.code ?? '');
}
/** Errors that mean "this file cannot tell us anything now" (gone, denied, or a zombie's missing namespace). */
function isAbsentError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  return GONE.has(code) || DENIED.has(code) || code === 'EINVAL' || code === 'ENOTDIR';
}

/** Whole file as text, or null when it is absent/unreadable. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isAbsentError(err)) return null;
    throw err;
  }
}

// ---------------------------------------------------------------- stat

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  minflt: number;
  cminflt: number;
  majflt: number;
  cmajflt: number;
  /** Clock ticks. cutime/cstime: children that this process has waited for. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  numThreads: number;
  /** Clock ticks after boot. With pid, identifies a process across pid reuse. */
  starttime: number;
  /** Bytes. */
  vsize: number;
  /** Pages. */
  rss: number;
  processor: number;
}

const statFields = new Float64Array(40);

/**
 * Parses /proc/PID/stat from bytes. comm may hold spaces and parentheses, so the fields after it are
 * located from the LAST ')' of the line.
 */
export function parseStatBuf(buf: Buffer, len: number, out?: ProcStat): ProcStat | null {
  let close = len - 1;
  while (close >= 0 && buf[close] !== 0x29) close--;
  let open = 0;
  while (open < len && buf[open] !== 0x28) open++;
  if (close < 0 || open >= close || close + 2 >= len) return null;
  let pid = 0;
  for (let i = 0; i < open; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) pid = pid * 10 + (c - 0x30);
  }
  // Names are short and nearly always ASCII: skip the UTF-8 decoder then (this runs per process per sample).
  let comm = '';
  for (let i = open + 1; i < close; i++) {
    const c = buf[i]!;
    if (c >= 0x80) {
      comm = buf.toString('utf8', open + 1, close);
      break;
    }
    comm += String.fromCharCode(c);
  }
  const state = String.fromCharCode(buf[close + 2]!);
  // Fields 4.. are space-separated integers (man 5 proc numbering).
  let field = 3;
  let i = close + 3;
  statFields.fill(0);
  while (i < len && field < 39) {
    if (buf[i] === 0x20) {
      field++;
      i++;
      let neg = false;
      if (buf[i] === 0x2d) {
        neg = true;
        i++;
      }
      let v = 0;
      while (i < len) {
        const c = buf[i]!;
        if (c < 0x30 || c > 0x39) break;
        v = v * 10 + (c - 0x30);
        i++;
      }
      statFields[field] = neg ? -v : v;
    } else {
      i++;
    }
  }
  if (field < 24) return null; // truncated line
  const f = statFields;
  const st: ProcStat = out ?? ({} as ProcStat);
  st.pid = pid;
  st.comm = comm;
  st.state = state;
  st.ppid = f[4]!;
  st.minflt = f[10]!;
  st.cminflt = f[11]!;
  st.majflt = f[12]!;
  st.cmajflt = f[13]!;
  st.utime = f[14]!;
  st.stime = f[15]!;
  st.cutime = f[16]!;
  st.cstime = f[17]!;
  st.numThreads = f[20]!;
  st.starttime = f[22]!;
  st.vsize = f[23]!;
  st.rss = f[24]!;
  st.processor = field >= 39 ? f[39]! : -1;
  return st;
}

export function parseStat(text: string): ProcStat | null {
  const b = Buffer.from(text, 'utf8');
  return parseStatBuf(b, b.length);
}

// ---------------------------------------------------------------- status

export interface ProcStatus {
  name: string;
  threads: number;
  vmRssKb: number;
  vmSizeKb: number;
  cpusAllowedList: string | null;
}

export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { name: '', threads: 0, vmRssKb: 0, vmSizeKb: 0, cpusAllowedList: null };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'Name':
        out.name = value;
        break;
      case 'Threads':
        out.threads = parseInt(value, 10) || 0;
        break;
      case 'VmRSS':
        out.vmRssKb = parseInt(value, 10) || 0;
        break;
      case 'VmSize':
        out.vmSizeKb = parseInt(value, 10) || 0;
        break;
      case 'Cpus_allowed_list':
        out.cpusAllowedList = value;
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------- io

export interface ProcIo {
  rchar: number;
  wchar: number;
  syscr: number;
  syscw: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
}

/** Parses /proc/PID/io ("key: value" lines) from bytes without building strings per line. */
export function parseIoBuf(buf: Uint8Array, len: number): ProcIo {
  const io: ProcIo = { rchar: 0, wchar: 0, syscr: 0, syscw: 0, readBytes: 0, writeBytes: 0, cancelledWriteBytes: 0 };
  let i = 0;
  while (i < len) {
    const start = i;
    while (i < len && buf[i] !== 0x3a) i++;
    const keyLen = i - start;
    const k0 = buf[start];
    const k1 = buf[start + 1];
    i++;
    while (i < len && buf[i] === 0x20) i++;
    let v = 0;
    while (i < len) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      i++;
    }
    while (i < len && buf[i] !== 0x0a) i++;
    i++;
    // Keys are distinguished by first letters and length: rchar wchar syscr syscw read_bytes write_bytes cancelled_write_bytes.
    if (k0 === 0x72) {
      if (keyLen === 5) io.rchar = v;
      else io.readBytes = v;
    } else if (k0 === 0x77) {
      if (keyLen === 5) io.wchar = v;
      else io.writeBytes = v;
    } else if (k0 === 0x73 && k1 === 0x79 && keyLen === 5) {
      if (buf[start + 4] === 0x72) io.syscr = v;
      else io.syscw = v;
    } else if (k0 === 0x63) {
      io.cancelledWriteBytes = v;
    }
  }
  return io;
}

export function parseIo(text: string): ProcIo {
  const b = Buffer.from(text, 'latin1');
  return parseIoBuf(b, b.length);
}

// ---------------------------------------------------------------- cmdline, net/dev

/** NUL-separated argv; a trailing NUL is not an extra empty argument. */
export function parseCmdline(buf: Buffer | string): string[] {
  const text = typeof buf === 'string' ? buf : buf.toString('utf8');
  if (text.length === 0) return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

export interface NetDevTotals {
  rxBytes: number;
  txBytes: number;
  interfaces: { name: string; rxBytes: number; txBytes: number }[];
}

/** /proc/PID/net/dev: two header lines, then "iface: rx_bytes rx_packets ... tx_bytes ..." (tx_bytes is the 9th number). */
export function parseNetDev(text: string): NetDevTotals {
  const out: NetDevTotals = { rxBytes: 0, txBytes: 0, interfaces: [] };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === '' || name.includes('|')) continue;
    const nums = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    if (nums.length < 9) continue;
    const rx = Number(nums[0]);
    const tx = Number(nums[8]);
    if (!Number.isFinite(rx) || !Number.isFinite(tx)) continue;
    out.interfaces.push({ name, rxBytes: rx, txBytes: tx });
    out.rxBytes += rx;
    out.txBytes += tx;
  }
  return out;
}

// ---------------------------------------------------------------- per-pid convenience readers

export function readStat(pid: number, root = PROC_ROOT): ProcStat | null {
  const t = readText(`${root}/${pid}/stat`);
  return t === null ? null : parseStat(t);
}
export function readStatus(pid: number, root = PROC_ROOT): ProcStatus | null {
  const t = readText(`${root}/${pid}/status`);
  return t === null ? null : parseStatus(t);
}
export function readIo(pid: number, root = PROC_ROOT): ProcIo | null {
  const t = readText(`${root}/${pid}/io`);
  return t === null ? null : parseIo(t);
}
export function readCmdline(pid: number, root = PROC_ROOT): string[] | null {
  try {
    return parseCmdline(readFileSync(`${root}/${pid}/cmdline`));
  } catch (err) {
    if (isAbsentError(err)) return null;
    throw err;
  }
}
export function readNetDev(pid: number, root = PROC_ROOT): NetDevTotals | null {
  const t = readText(`${root}/${pid}/net/dev`);
  return t === null ? null : parseNetDev(t);
}
/** Network namespace identity ("net:[4026531833]"), or null when unreadable. */
export function readNetNs(pid: number, root = PROC_ROOT): string | null {
  try {
    return readlinkSync(`${root}/${pid}/ns/net`);
  } catch (err) {
    if (isAbsentError(err)) return null;
    throw err;
  }
}

/** Numeric entries of /proc: the thread-group ids (threads are not listed). */
export function listPids(root = PROC_ROOT): number[] {
  const out: number[] = [];
  for (const name of readdirSync(root)) {
    const c = name.charCodeAt(0);
    if (c >= 0x30 && c <= 0x39) out.push(+name);
  }
  return out;
}

/**
 * Children of a process from /proc/PID/task/TID/children, over all its threads (a child belongs to the
 * thread that forked it). null when the kernel lacks CONFIG_PROC_CHILDREN (the files are absent).
 */
export function readChildPids(pid: number, root = PROC_ROOT): number[] | null {
  let tids: string[];
  try {
    tids = readdirSync(`${root}/${pid}/task`);
  } catch (err) {
    if (isAbsentError(err)) return [];
    throw err;
  }
  const out: number[] = [];
  let sawFile = false;
  for (const tid of tids) {
    const t = readText(`${root}/${pid}/task/${tid}/children`);
    if (t === null) continue;
    sawFile = true;
    for (const w of t.split(' ')) if (w.trim() !== '') out.push(+w);
  }
  return sawFile || tids.length === 0 ? out : null;
}

/** pid -> ppid for every process, from /proc/PID/stat (the fallback when children files are absent). */
export function scanParents(root = PROC_ROOT): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of listPids(root)) {
    const st = readStat(pid, root);
    if (st) out.set(pid, st.ppid);
  }
  return out;
}

// ---------------------------------------------------------------- system constants

let auxvCache: Map<number, number> | null = null;

/** The ELF auxiliary vector of this process: the kernel hands every process AT_CLKTCK and AT_PAGESZ here. */
function auxv(): Map<number, number> {
  if (auxvCache) return auxvCache;
  const m = new Map<number, number>();
  try {
    const b = readFileSync('/proc/self/auxv');
    const word = process.arch === 'arm' || process.arch === 'ia32' ? 4 : 8;
    const le = endianness() === 'LE';
    for (let off = 0; off + 2 * word <= b.length; off += 2 * word) {
      const read = (o: number) =>
        word === 8 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : le ? b.readUInt32LE(o) : b.readUInt32BE(o);
      const type = read(off);
      if (type === 0) break;
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
  const t = readText(`${root}/stat`);
  const m = t === null ? null : /^btime (\d+)/m.exec(t);
  return m ? Number(m[1]) * 1000 : 0;
}

// ---------------------------------------------------------------- persistent descriptors

/** Shared read buffer: stat and io fit easily; one buffer avoids an allocation per read. */
export const SCRATCH = Buffer.alloc(16384);

export const READ_GONE = -1;
export const READ_DENIED = -2;
export const READ_ERROR = -3;

function classify(err: unknown): number {
  if (isGoneError(err)) return READ_GONE;
  if (isDeniedError(err)) return READ_DENIED;
  return READ_ERROR;
}

/** Opens a /proc file; a negative READ_* status when it cannot. */
export function openProc(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    return classify(err);
  }
}

/**
 * pread at offset 0 into SCRATCH. /proc files are seq_files regenerated on a read at offset 0, so an
 * fd kept open re-reads fresh values; after the process dies it fails with ESRCH even if the pid is reused.
 */
export function preadProc(fd: number): number {
  try {
    return readSync(fd, SCRATCH, 0, SCRATCH.length, 0);
  } catch (err) {
    return classify(err);
  }
}

export function closeProc(fd: number): void {
  if (fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

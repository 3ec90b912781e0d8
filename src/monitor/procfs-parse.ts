// Parsers for the text of /proc files. Pure functions of bytes or text: the readers (procfs.ts) and the
// sampler's persistent descriptors (procfs-fd.ts) feed them. The stat, io and schedstat parsers work on
// bytes because they run per member per sample; the others are read rarely and split strings.

const SPACE = 0x20;
const NEWLINE = 0x0a;
const COLON = 0x3a;
const BAR = 0x7c;
const MINUS = 0x2d;
const OPEN_PAREN = 0x28;
const CLOSE_PAREN = 0x29;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** The decimal integer (optionally negative) starting at buf[start]; 0 when there is none. */
export function decimalAt(buf: Uint8Array, start: number, len: number): number {
  let i = start;
  const neg = i < len && buf[i] === MINUS;
  if (neg) i++;
  let v = 0;
  while (i < len) {
    const c = buf[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    v = v * 10 + (c - DIGIT_0);
    i++;
  }
  return neg ? -v : v;
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

/** Fields 4..39 of the stat line by man 5 proc numbering; reused across calls (no allocation per parse). */
const statFields = new Float64Array(40);

/**
 * Parses /proc/PID/stat from bytes. comm may hold spaces and parentheses, so the fields after it are
 * located from the LAST ')' of the line. `out` is filled in place when given (the sampler reuses one).
 */
export function parseStatBuf(buf: Buffer, len: number, out?: ProcStat): ProcStat | null {
  let close = len - 1;
  while (close >= 0 && buf[close] !== CLOSE_PAREN) close--;
  let open = 0;
  while (open < len && buf[open] !== OPEN_PAREN) open++;
  if (close < 0 || open >= close || close + 2 >= len) return null;
  let pid = 0;
  for (let i = 0; i < open; i++) {
    const c = buf[i]!;
    if (c >= DIGIT_0 && c <= DIGIT_9) pid = pid * 10 + (c - DIGIT_0);
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
  // Field 3 is the state; each later field follows a space.
  let field = 3;
  statFields.fill(0);
  for (let i = close + 3; i < len && field < 39; i++) {
    if (buf[i] === SPACE) statFields[++field] = decimalAt(buf, i + 1, len);
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
  // Field 39 arrived in Linux 2.2.8; older formats stop before it.
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
    while (i < len && buf[i] !== COLON) i++;
    const keyLen = i - start;
    const k0 = buf[start];
    const k1 = buf[start + 1];
    i++;
    while (i < len && buf[i] === SPACE) i++;
    const v = decimalAt(buf, i, len);
    while (i < len && buf[i] !== NEWLINE) i++;
    i++;
    // Keys are told apart by first letters and length: rchar wchar syscr syscw read_bytes write_bytes cancelled_write_bytes.
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

/**
 * The rx and tx byte totals of /proc/PID/net/dev in `buf[0, len)`, without building strings (it is read
 * at every sample). The same lines count as in parseNetDev: "name: n1 ... n16", rx the 1st, tx the 9th.
 */
export function netDevTotalsBuf(buf: Uint8Array, len: number): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  let i = 0;
  while (i < len) {
    let end = i;
    while (end < len && buf[end] !== NEWLINE) end++;
    let colon = i;
    while (colon < end && buf[colon] !== COLON && buf[colon] !== BAR) colon++;
    if (colon < end && buf[colon] === COLON) {
      let rx = -1;
      let tx = -1;
      let field = 0;
      let j = colon + 1;
      while (j < end && field < 9) {
        while (j < end && buf[j] === SPACE) j++;
        const c = buf[j];
        if (j >= end || c === undefined || c < DIGIT_0 || c > DIGIT_9) break;
        const v = decimalAt(buf, j, end);
        while (j < end && buf[j] !== SPACE) j++;
        if (field === 0) rx = v;
        else if (field === 8) tx = v;
        field++;
      }
      if (rx >= 0 && tx >= 0) {
        rxBytes += rx;
        txBytes += tx;
      }
    }
    i = end + 1;
  }
  return { rxBytes, txBytes };
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

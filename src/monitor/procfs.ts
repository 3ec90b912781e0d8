// Readers of /proc files by path. Processes vanish at any moment: every reader returns null
// instead of throwing for ENOENT/ESRCH, and treats EACCES/EPERM as "absent".
// The parsers are in procfs-parse.ts, the descriptors the sampler keeps open in procfs-fd.ts.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import {
  parseCmdline,
  parseIo,
  parseNetDev,
  parseStat,
  parseStatus,
  type NetDevTotals,
  type ProcIo,
  type ProcStat,
  type ProcStatus,
} from './procfs-parse.js';

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

// /proc/PID/maps: which file (and which part of it) is mapped where in a process. Needed only for
// frames that carry an address instead of a build id, and as a list of the files a process uses.
import { readFileSync } from 'node:fs';

export interface Mapping {
  start: bigint;
  end: bigint;
  /** "r-xp" */
  perms: string;
  /** File offset of `start`. */
  offset: number;
  /** "major:minor" of the file's device, and its inode (0 for anonymous memory). */
  dev: string;
  inode: number;
  /** The file, or a pseudo name ("[heap]", "[vdso]", ""), as the kernel prints it. */
  path: string;
}

/** One line per mapping: "start-end perms offset dev inode   path". Malformed lines are skipped. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perms: m[3]!, offset: Number.parseInt(m[4]!, 16),
      dev: m[5]!, inode: Number(m[6]), path: m[7]!.replace(/ \(deleted\)$/, ''),
    });
  }
  return out;
}

/** The mappings of a live process, or undefined when it is gone or unreadable. */
export function readMaps(pid: number): Mapping[] | undefined {
  try {
    return parseMaps(readFileSync(`/proc/${pid}/maps`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The mapping that contains `ip`, from mappings sorted by start (as the kernel lists them). */
export function mappingAt(maps: readonly Mapping[], ip: bigint): Mapping | undefined {
  let lo = 0, hi = maps.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (maps[mid]!.start <= ip) lo = mid + 1;
    else hi = mid;
  }
  const m = maps[lo - 1];
  return m && ip < m.end ? m : undefined;
}

/** Whether a mapping is of a real file (not anonymous memory, not [vdso], [heap] …). */
export const isFileMapping = (m: Mapping): boolean => m.inode !== 0 && m.path.startsWith('/');

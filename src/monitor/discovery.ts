// Finding the processes that joined a tree since the last sample: list /proc, read the stat of pids not
// yet known, and keep those whose parent is a member, transitively. Pids found outside the tree are
// remembered so that between rescans only new pids cost a read.
import { READ_GONE, SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import { parseStatBuf, type ProcStat } from './procfs-parse.js';
import { listPids } from './procfs.js';

export interface DiscoveryOptions {
  /** How often the pids in `outside` are read again (a pid may have been freed and reused meanwhile), ms. */
  rescanMs: number;
  /** Pids never joined, nor their descendants (this process, when it monitors its own ancestors). */
  exclude?: ReadonlySet<number>;
  /**
   * A process that adopts orphans of the tree (this process, a child subreaper in `run`): its children
   * are members, except the excluded ones.
   */
  adopter?: number;
}

export class Discovery {
  /** Pids seen outside the tree (not re-read until the next rescan). */
  private outside = new Set<number>();
  private lastRescanMs = -Infinity;

  constructor(
    private readonly root: string,
    private readonly opts: DiscoveryOptions,
  ) {}

  /**
   * The new descendants of `members`, parents before their children (so each one's parent has joined
   * before it). Zombies are included: an exited child carries its counters until its parent reaps it.
   * `joiners`: pids that join whatever their parent (a cgroup's processes), with their descendants.
   */
  find(members: ReadonlyMap<number, unknown>, now: number, forceRescan = false, joiners?: ReadonlySet<number>): ProcStat[] {
    const rescan = forceRescan || now - this.lastRescanMs >= this.opts.rescanMs;
    if (rescan) this.lastRescanMs = now;
    let pids: number[];
    try {
      pids = listPids(this.root);
    } catch {
      return [];
    }
    const exclude = this.opts.exclude;
    // Between rescans, pids that left /proc stay in the set until the next rescan rebuilds it.
    const outside = rescan ? new Set<number>() : this.outside;
    const candidates = new Map<number, ProcStat>();
    for (const pid of pids) {
      if (members.has(pid) || exclude?.has(pid)) continue;
      if (!rescan && outside.has(pid) && !joiners?.has(pid)) continue;
      const st = readStat(`${this.root}/${pid}/stat`);
      if (st) candidates.set(pid, st);
    }
    // Breadth-first from the members (and the adopter): a candidate joins when its parent is (or just became) one.
    const byParent = new Map<number, number[]>();
    for (const [pid, st] of candidates) {
      const list = byParent.get(st.ppid);
      if (list) list.push(pid);
      else byParent.set(st.ppid, [pid]);
    }
    const joined: ProcStat[] = [];
    const queue = [...members.keys()];
    if (this.opts.adopter !== undefined) queue.push(this.opts.adopter);
    // Joiners whose parent does not join with them are roots; the others come with their parent below.
    if (joiners) {
      for (const [pid, st] of candidates) {
        if (!joiners.has(pid) || (joiners.has(st.ppid) && candidates.has(st.ppid))) continue;
        joined.push(st);
        queue.push(pid);
      }
      for (const st of joined) candidates.delete(st.pid);
    }
    for (let q = 0; q < queue.length; q++) {
      for (const pid of byParent.get(queue[q]!) ?? []) {
        const st = candidates.get(pid);
        if (!st) continue; // joined already (a joiner whose parent is a member)
        joined.push(st);
        candidates.delete(pid);
        queue.push(pid);
      }
    }
    for (const pid of candidates.keys()) outside.add(pid);
    this.outside = outside;
    return joined;
  }
}

/** One stat read by path into a fresh object; null when the process is gone or unreadable. */
export function readStat(path: string): ProcStat | null {
  const fd = openProc(path);
  if (fd < 0) return null;
  const n = preadProc(fd);
  closeProc(fd);
  if (n === READ_GONE || n <= 0) return null;
  return parseStatBuf(SCRATCH, n);
}

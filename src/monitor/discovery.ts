// Finding the processes that joined a tree since the last sample: list /proc, read the stat of pids not
// yet known, and keep those whose parent is a member, transitively. Pids found outside the tree are
// remembered so that between rescans only new pids cost a read.
import { closeProc, openProc } from './procfs-fd.js';
import type { ProcStat } from './procfs-parse.js';
import { listPids } from './procfs.js';
import { readStatFd } from './member.js';

export interface Candidate {
  st: ProcStat;
  /** Open descriptor on its stat: the new member keeps it. */
  statFd: number;
}

export class Discovery {
  /** Pids seen outside the tree (not re-read until the next rescan). */
  private outside = new Set<number>();
  private lastRescanMs = -Infinity;

  constructor(
    private readonly root: string,
    /** How often the pids in `outside` are read again (a pid may have been freed and reused meanwhile). */
    private readonly rescanMs: number,
  ) {}

  /**
   * The new descendants of `members`, parents before their children (so each one's parent has joined
   * before it). Zombies are included: an exited child carries its counters until its parent reaps it.
   */
  find(members: ReadonlySet<number> | ReadonlyMap<number, unknown>, now: number): Candidate[] {
    const rescan = now - this.lastRescanMs >= this.rescanMs;
    if (rescan) this.lastRescanMs = now;
    let pids: number[];
    try {
      pids = listPids(this.root);
    } catch {
      return [];
    }
    // Between rescans, pids that left /proc stay in the set until the next rescan rebuilds it.
    const outside = rescan ? new Set<number>() : this.outside;
    const candidates = new Map<number, Candidate>();
    for (const pid of pids) {
      if (members.has(pid)) continue;
      if (!rescan && outside.has(pid)) continue;
      const statFd = openProc(`${this.root}/${pid}/stat`);
      if (statFd < 0) continue;
      const st = readStatFd(statFd);
      if (!st || st === 'gone') {
        closeProc(statFd);
        continue;
      }
      candidates.set(pid, { st, statFd });
    }
    // Breadth-first from the members: a candidate joins when its parent is (or just became) a member.
    const byParent = new Map<number, number[]>();
    for (const [pid, c] of candidates) {
      const list = byParent.get(c.st.ppid);
      if (list) list.push(pid);
      else byParent.set(c.st.ppid, [pid]);
    }
    const joined: Candidate[] = [];
    const queue = [...members.keys()];
    for (let q = 0; q < queue.length; q++) {
      for (const pid of byParent.get(queue[q]!) ?? []) {
        joined.push(candidates.get(pid)!);
        candidates.delete(pid);
        queue.push(pid);
      }
    }
    for (const [pid, c] of candidates) {
      closeProc(c.statFd);
      outside.add(pid);
    }
    this.outside = outside;
    return joined;
  }
}

// Network byte counters per network namespace. /proc/PID/net/dev describes the namespace of PID, not
// the process: every member in one namespace shares its numbers, so each namespace is read once.
import { SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import { netDevTotalsBuf } from './procfs-parse.js';
import { readNetDev } from './procfs.js';

interface Ns {
  /** Open net/dev of a process in the namespace (the open file pins the namespace, not the pid). */
  fd: number;
  rx: number;
  tx: number;
  baseRx: number;
  baseTx: number;
}

export class NetnsCounters {
  private readonly byNs = new Map<string, Ns>();
  private reported = { rx: 0, tx: 0 };

  /** sinceStart: counters from the namespace's creation; otherwise from when it is first seen. */
  constructor(
    private readonly root: string,
    private readonly sinceStart: boolean,
  ) {}

  /** Starts following `ns` (through `pid`, a process in it) if not yet followed. */
  track(ns: string, pid: number): void {
    if (this.byNs.has(ns)) return;
    const fd = openProc(`${this.root}/${pid}/net/dev`);
    const dev = this.read(fd, pid);
    if (!dev) {
      closeProc(fd);
      return;
    }
    const keep = this.sinceStart;
    this.byNs.set(ns, { fd, rx: dev.rxBytes, tx: dev.txBytes, baseRx: keep ? 0 : dev.rxBytes, baseTx: keep ? 0 : dev.txBytes });
  }

  /** Re-reads the namespaces of the given live processes; returns the (monotonic) sum over them. */
  refresh(live: Iterable<{ netns: string; pid: number }>): { rx: number; tx: number } {
    const seen = new Set<string>();
    let rx = 0;
    let tx = 0;
    for (const p of live) {
      if (seen.has(p.netns)) continue;
      seen.add(p.netns);
      this.track(p.netns, p.pid);
      const n = this.byNs.get(p.netns);
      if (!n) continue;
      let dev = this.read(n.fd, p.pid);
      if (!dev) {
        closeProc(n.fd);
        n.fd = openProc(`${this.root}/${p.pid}/net/dev`);
        dev = this.read(n.fd, p.pid);
      }
      if (dev) {
        n.rx = dev.rxBytes;
        n.tx = dev.txBytes;
      }
      rx += Math.max(0, n.rx - n.baseRx);
      tx += Math.max(0, n.tx - n.baseTx);
    }
    this.reported = { rx: Math.max(this.reported.rx, rx), tx: Math.max(this.reported.tx, tx) };
    return this.reported;
  }

  /** The namespace's bytes since its baseline (as of the last refresh). */
  of(ns: string): { rx: number; tx: number } {
    const n = this.byNs.get(ns);
    return n ? { rx: Math.max(0, n.rx - n.baseRx), tx: Math.max(0, n.tx - n.baseTx) } : { rx: 0, tx: 0 };
  }

  close(): void {
    for (const n of this.byNs.values()) closeProc(n.fd);
    this.byNs.clear();
  }

  private read(fd: number, pid: number): { rxBytes: number; txBytes: number } | null {
    if (fd < 0) return null;
    const n = preadProc(fd);
    if (n <= 0) return null;
    // Hosts with very many interfaces overflow the scratch buffer: read those whole.
    if (n === SCRATCH.length) return readNetDev(pid, this.root);
    return netDevTotalsBuf(SCRATCH, n);
  }
}

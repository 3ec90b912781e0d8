// The kernel's off-CPU time and socket bytes (eBPF scheduler and socket programs), as the monitor
// puts them in records: per process (members, process records) and for the whole tree. The kernel
// counts only tracked processes, from when monitoring began, so nothing is subtracted; figures are
// kept from decreasing (a thread folded into its process between two map reads is missed by one read).
import type { ActivityFigures, ProcessActivity } from '../tracer/activity.js';
import type { ActivityMetrics, KernelActivity, NetByClass, ProcessRecord, ThreadTimes } from './types.js';

const CLASSES = ['tcp', 'udp', 'other_ip', 'unix', 'other'] as const;
/** Processes that left the kernel's maps are remembered this many samples (for records made late). */
const KEEP_SAMPLES = 20;

interface Kept {
  fig: ActivityMetrics;
  startBootNs: number;
  /** Samples since it was last in a snapshot. */
  age: number;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

function netOf(f: ActivityFigures): NetByClass {
  const out = {} as NetByClass;
  for (const c of CLASSES) out[c] = { tx_bytes: f.net[c].tx, rx_bytes: f.net[c].rx };
  return out;
}

function zeroNet(): NetByClass {
  const out = {} as NetByClass;
  for (const c of CLASSES) out[c] = { tx_bytes: 0, rx_bytes: 0 };
  return out;
}

/** max(a, b) field by field, so reported figures never decrease. */
function maxOf(prev: ActivityMetrics | undefined, cur: ActivityMetrics): ActivityMetrics {
  if (!prev) return cur;
  const m = (k: 'off_cpu_secs' | 'io_wait_secs' | 'runq_wait_secs' | 'net_tx_bytes' | 'net_rx_bytes') =>
    cur[k] === undefined ? undefined : Math.max(prev[k] ?? 0, cur[k]);
  const out: ActivityMetrics = {};
  for (const k of ['off_cpu_secs', 'io_wait_secs', 'runq_wait_secs', 'net_tx_bytes', 'net_rx_bytes'] as const) {
    const v = m(k);
    if (v !== undefined) out[k] = v;
  }
  if (cur.net) {
    out.net = {} as NetByClass;
    for (const c of CLASSES) {
      out.net[c] = {
        tx_bytes: Math.max(prev.net?.[c].tx_bytes ?? 0, cur.net[c].tx_bytes),
        rx_bytes: Math.max(prev.net?.[c].rx_bytes ?? 0, cur.net[c].rx_bytes),
      };
    }
  }
  return out;
}

export class ActivityView {
  private sched = false;
  private net = false;
  private readonly byPid = new Map<number, Kept>();
  private tree: ActivityMetrics | undefined;
  private latest: KernelActivity | undefined;

  /** Takes the snapshot read for this sample. */
  update(snap: KernelActivity | undefined): void {
    if (!snap) return;
    this.latest = snap;
    this.sched = snap.sched;
    this.net = snap.net;
    for (const k of this.byPid.values()) k.age++;
    for (const p of snap.processes.values()) {
      const prev = this.byPid.get(p.pid);
      const same = prev && (prev.startBootNs === 0 || p.startBootNs === 0 || prev.startBootNs === p.startBootNs);
      this.byPid.set(p.pid, { fig: maxOf(same ? prev.fig : undefined, this.figures(p)), startBootNs: p.startBootNs || (same ? prev.startBootNs : 0), age: 0 });
    }
    for (const [pid, k] of this.byPid) if (k.age > KEEP_SAMPLES) this.byPid.delete(pid);
    this.tree = maxOf(this.tree, this.figures(snap.totals));
  }

  /** Whether any figure is recorded (the programs run). */
  get active(): boolean {
    return this.sched || this.net;
  }

  /** The tree's figures (aggregated), or nothing without the programs. */
  totals(): ActivityMetrics {
    return this.tree ? { ...this.tree } : {};
  }

  /**
   * A process's figures: `startBootNs` (its start, ns since boot; 0 unknown) guards against another
   * process with a reused pid. A process the kernel has no entry for yet has done nothing counted: 0.
   */
  of(pid: number, startBootNs = 0): ActivityMetrics {
    if (!this.active) return {};
    const k = this.byPid.get(pid);
    if (k && (startBootNs === 0 || k.startBootNs === 0 || Math.abs(k.startBootNs - startBootNs) < 50e6)) return { ...k.fig };
    return this.figures(undefined);
  }

  /** Each live thread of a multi-threaded process (undefined for one thread, or without the scheduler programs). */
  threadsOf(pid: number): ThreadTimes[] | undefined {
    const p = this.latest?.processes.get(pid);
    if (!this.sched || !p || p.threads.length < 2) return undefined;
    return p.threads
      .map((t) => ({ tid: t.tid, state: t.state, off_cpu_secs: round6(t.offCpuSecs), io_wait_secs: round6(t.ioWaitSecs), runq_wait_secs: round6(t.runqWaitSecs) }))
      .sort((a, b) => a.tid - b.tid);
  }

  /** Puts a process's figures into its record (start_ms: its start, ms since the epoch; bootMs: boot time, same clock). */
  fill(r: ProcessRecord, bootMs: number): void {
    if (!this.active) return;
    Object.assign(r, this.of(r.pid, Math.max(0, (r.start_ms - bootMs) * 1e6)));
  }

  private figures(f: ActivityFigures | ProcessActivity | undefined): ActivityMetrics {
    const out: ActivityMetrics = {};
    if (this.sched) {
      out.off_cpu_secs = round6(f?.offCpuSecs ?? 0);
      out.io_wait_secs = round6(f?.ioWaitSecs ?? 0);
      out.runq_wait_secs = round6(f?.runqWaitSecs ?? 0);
    }
    if (this.net) {
      const net = f ? netOf(f) : zeroNet();
      out.net_tx_bytes = net.tcp.tx_bytes + net.udp.tx_bytes + net.other_ip.tx_bytes;
      out.net_rx_bytes = net.tcp.rx_bytes + net.udp.rx_bytes + net.other_ip.rx_bytes;
      out.net = net;
    }
    return out;
  }
}

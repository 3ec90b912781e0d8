// The monitoring session behind `run` and `attach`: opens the tracer before anything starts, samples
// the tree on the adaptive schedule, and always ends with a summary. Records go to an observer, so
// the CLI (files, terminal) and embedders (their own sinks) share one implementation.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { machine, constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  adaptiveIntervalMs, collectEnv, ProcessTreeMonitor, SummaryAccumulator, psiCapability, readStat,
  type MetadataRecord, type MonitorRecord, type SampleRecord, type SummaryRecord, type SyscallRow, type TreeRecord,
} from '../monitor/index.js';
import { cgroupPids, type CgroupTarget } from '../monitor/cgroup.js';
import { EbpfSampler, filterOf, openEbpf, timeEvidenceOf, type EbpfOptions, type EbpfSetup } from './ebpf.js';
import { DRAIN_MS } from './stacks.js';
import { MonitoringFailedError, SpawnError, TargetError, firstLine } from './errors.js';
import { startWatchdog } from './watchdog.js';
import { Stopper, type StopReason } from './stopper.js';
import { packageVersion } from '../monitor/package.js';

export interface SessionOptions {
  /** First sampling interval, ms (default 100). */
  intervalMs?: number;
  /** Longest interval, ms (default 1000 or intervalMs if larger): the interval grows as the run gets longer. */
  maxIntervalMs?: number;
  /** Stop monitoring after this many seconds (default 0: until the target has exited). */
  durationSec?: number;
  /** Follow the whole descendant tree (default true); false: the process alone, as `sample` records. */
  includeChildren?: boolean;
  /** Cumulative counters from each process's start instead of from monitoring start. */
  sinceProcessStart?: boolean;
  /** Emit an `env` record (the machine) first. */
  writeEnv?: boolean;
  /** Count syscalls in the kernel; omitted: /proc metrics only. */
  ebpf?: EbpfOptions;
}

export interface RecordInfo {
  /** ms since monitoring began. */
  elapsedMs: number;
  /** `run`: the command has exited and monitoring goes on for this many descendants still running. */
  waitingFor?: number;
}

export interface SessionObserver {
  /**
   * Every record, in stream order: env, metadata, one tree/sample per interval, summary. A throw ends
   * monitoring; the summary is still delivered, then the call fails with MonitoringFailedError.
   */
  record(rec: MonitorRecord, info: RecordInfo): void;
  /** Degradations worth a line on a terminal (eBPF unavailable, counters unreadable). */
  warn?(message: string): void;
  /**
   * Detail mode only (not --count-only): after each sample record, the strace -c style table of the
   * whole run so far (cumulative: calls, errors, errnos, time, log2 histogram per syscall), built from
   * the kernel read that sample used. `tsMs`: that sample's ts_ms. Defining it costs the table's
   * building at each sample; the records themselves carry it only in the summary. A throw is as in record().
   */
  syscallTable?(rows: readonly SyscallRow[], tsMs: number): void;
}

export interface RunOptions {
  /** Absolute path of the program (exactly one execve happens: counting starts there). */
  executable: string;
  args?: string[];
  /** argv[0] as the program sees it (default: executable). */
  argv0?: string;
  stdio?: StdioOptions;
  /** Pass SIGINT/SIGTERM/SIGHUP on to the command (default true). */
  forwardSignals?: boolean;
  /** When durationSec ends monitoring: SIGTERM the command (SIGKILL after 2 s) and wait, instead of leaving it running. */
  killOnDuration?: boolean;
  /**
   * Follow the whole tree as `strace -f` does (default true): monitoring ends when the command and every
   * descendant, daemonised ones included, have exited. false: it ends with the command (RunResult
   * says how many descendants were still running).
   */
  waitForDescendants?: boolean;
  /** If this process is killed (even by SIGKILL), SIGKILL the command rather than leave it running unmonitored (default true). */
  killIfMonitorDies?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunResult {
  summary: SummaryRecord;
  stopReason: StopReason;
  /** The command's status; null when monitoring ended by duration and the command was left running. */
  status: ExitStatus | null;
  /** waitForDescendants false: descendants still running when the command exited (0 otherwise). */
  descendantsLeft: number;
}

export interface AttachResult {
  summary: SummaryRecord;
  stopReason: StopReason;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Whether this process is a child subreaper (set once, for the life of the process). */
let subreaper: boolean | undefined;
/** How long killOnDuration waits after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;

/** The process's exit code as a shell reports it: its code, or 128+N when signal N killed it. */
export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const num = status.signal ? osConstants.signals[status.signal] : undefined;
  return 128 + (num ?? 0);
}

interface Target {
  pid: number;
  cmd: string[];
  executable: string;
  /** `run`: the target is our child, so its final totals can be read when we reap it. */
  ownChild: boolean;
  /** `run`: this process is the tree's child subreaper: orphans are our children, to be reaped by us. */
  adopts?: boolean;
  /** `run`: resolves when the command itself has exited. */
  rootExited?: Promise<unknown>;
  /** `run`: keep monitoring the tree after the command exited, until it is empty. */
  followDescendants?: boolean;
  /** Pids that are not part of the tree (this process, the watchdog). */
  exclude: number[];
  /** attach --cgroup: the cgroup (pid is 0: there is no root process). */
  cgroup?: CgroupTarget;
}

export class Session {
  private readonly stopper = new Stopper();
  private closed = false;

  private constructor(
    private readonly opts: SessionOptions,
    private readonly observer: SessionObserver,
    private readonly ebpf: EbpfSetup,
  ) {}

  /** Opens the tracer when asked to (before any child exists). Throws EbpfRequiredError when it must and cannot. */
  static async open(opts: SessionOptions, observer: SessionObserver): Promise<Session> {
    const ebpf = await openEbpf(opts.ebpf, (m) => observer.warn?.(m));
    return new Session(opts, observer, ebpf);
  }

  /** Whether syscalls are counted in the kernel, how, or why not. */
  get capability() {
    return this.ebpf.capability;
  }

  /** Ends monitoring at the next step (attach: the process is left alone; run: see RunOptions). */
  stop(reason: StopReason = 'signal'): void {
    this.stopper.stop(reason);
  }

  /**
   * Starts the command, monitors it and its tree until it exits (or durationSec passes), and resolves
   * with the summary and the command's status. The session is closed afterwards.
   */
  async run(ro: RunOptions): Promise<RunResult> {
    const name = ro.argv0 ?? ro.executable;
    const follow = ro.waitForDescendants ?? true;
    // Orphans of the tree (daemons, children of a parent that exited) become our children, so the
    // tree is followed to its end and their figures are credited to us when we reap them.
    const adopts = await this.becomeSubreaper();
    let child: ChildProcess;
    try {
      const spawnFn = () => spawn(ro.executable, ro.args ?? [], { stdio: ro.stdio ?? 'inherit', argv0: name });
      const tracer = this.ebpf.tracer;
      const alone = !(this.opts.includeChildren ?? true);
      child = await startChild(() => (tracer ? tracer.spawnTracked(spawnFn, { alone }) : spawnFn()), name);
    } catch (err) {
      this.close();
      throw err;
    }
    const watchdog = (ro.killIfMonitorDies ?? true) ? startWatchdog(child.pid!) : undefined;

    let status: ExitStatus | undefined;
    const exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        status = { code, signal };
        watchdog?.kill('SIGKILL');
        // Without following the tree, monitoring ends here; else the next sample comes at once.
        if (follow) this.stopper.wake();
        else this.stopper.stop('exited');
        resolve(status);
      });
    });
    // The child decides what a signal means; we pass it on and keep monitoring until it exits.
    const forward = (sig: NodeJS.Signals) => {
      // Ctrl-C and a hangup reach the whole foreground process group, the command included: a
      // second copy would turn one Ctrl-C into two (a forced quit, for many tools).
      if (sig !== 'SIGTERM' && inTerminalForeground()) return;
      child.kill(sig);
    };
    const forwarding = ro.forwardSignals ?? true;
    if (forwarding) for (const sig of FORWARDED) process.on(sig, forward);
    try {
      let outcome: { summary: SummaryRecord; left: number };
      try {
        outcome = await this.monitor({
          pid: child.pid!, cmd: [name, ...(ro.args ?? [])], executable: ro.executable, ownChild: true,
          adopts, rootExited: exited, followDescendants: follow, exclude: watchdog?.pid ? [watchdog.pid] : [],
        });
      } catch (err) {
        // Monitoring failed (e.g. the output disk is full): the command is not abandoned mid-run. It
        // goes on to its end, signals still reach it, and then the failure is reported.
        this.close();
        if (err instanceof MonitoringFailedError && status === undefined) {
          this.observer.warn?.(`${err.message}; waiting for ${name} to exit`);
          err.reported = true;
        }
        await exited;
        throw err;
      }
      this.close();
      const { summary, left } = outcome;
      const stopReason = this.stopper.reason ?? 'exited';
      if (stopReason === 'duration' && status === undefined) {
        if (!ro.killOnDuration) {
          // Documented: monitoring stops, the command keeps running on its own.
          watchdog?.kill('SIGKILL');
          child.unref();
          return { summary, stopReason, status: null, descendantsLeft: 0 };
        }
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
        const st = await exited;
        clearTimeout(timer);
        return { summary, stopReason, status: st, descendantsLeft: 0 };
      }
      return { summary, stopReason, status: await exited, descendantsLeft: left };
    } finally {
      watchdog?.kill('SIGKILL');
      if (forwarding) for (const sig of FORWARDED) process.off(sig, forward);
    }
  }

  /** PR_SET_CHILD_SUBREAPER, once per process; false (with a warning) where it cannot be had. */
  private async becomeSubreaper(): Promise<boolean> {
    if (subreaper !== undefined) return subreaper;
    try {
      const { setChildSubreaper } = await import('../loader/process.js');
      setChildSubreaper();
      subreaper = true;
    } catch (err) {
      this.observer.warn?.(`cannot adopt the tree's orphans (${firstLine(err)}): daemonised descendants are not followed and their figures come from /proc`);
      subreaper = false;
    }
    return subreaper;
  }

  /**
   * Monitors a running process and its descendants until it exits, durationSec passes or stop() is
   * called. The process is never signalled. The session is closed afterwards.
   */
  async attach(pid: number, describe: { cmd: string[]; executable: string }): Promise<AttachResult> {
    try {
      const alone = !(this.opts.includeChildren ?? true);
      // This process is never part of what it monitors (it may be a descendant: `attach $$`).
      this.ebpf.tracer?.trackTree(pid, { alone, exclude: process.pid });
      // Checked after the kernel tracks it: a process that exits from now on is seen exiting, one that
      // exited while the tracer was being loaded never will be, and would leave an empty run.
      if (!alive(pid)) throw new TargetError(pid, 'ended');
      const { summary } = await this.monitor({ pid, ...describe, ownChild: false, exclude: [process.pid] });
      return { summary, stopReason: this.stopper.reason ?? 'exited' };
    } finally {
      this.close();
    }
  }

  /**
   * Monitors every process of a cgroup v2 and of its descendant cgroups, those that join later
   * included, until durationSec passes, stop() is called or the cgroup is removed (and its last
   * process has exited). With eBPF, open the session with `ebpf.cgroup` set to the same directory.
   * No process is signalled. The session is closed afterwards.
   */
  async attachCgroup(cgroup: CgroupTarget): Promise<AttachResult> {
    try {
      const tracer = this.ebpf.tracer;
      if (tracer) tracer.trackProcesses(cgroupPids(cgroup.dir) ?? [], { exclude: process.pid });
      const { summary } = await this.monitor({ pid: 0, cmd: [], executable: '', ownChild: false, exclude: [process.pid], cgroup });
      return { summary, stopReason: this.stopper.reason ?? 'exited' };
    } finally {
      this.close();
    }
  }

  /** Detaches the programs and releases everything. Idempotent; run() and attach() call it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ebpf.close();
  }

  /**
   * Writes env + metadata, samples until the stopper says stop (or the tree is gone, or the duration
   * passes), then delivers the summary record. Resolves with it and, when the command's exit ended
   * monitoring, the descendants it left running.
   */
  private async monitor(target: Target): Promise<{ summary: SummaryRecord; left: number }> {
    const { opts, stopper } = this;
    const t0 = performance.now();
    let waitingFor: number | undefined;
    const emit = (rec: MonitorRecord) => this.observer.record(rec, { elapsedMs: performance.now() - t0, waitingFor });
    let failure: unknown;
    try {
      if (opts.writeEnv) emit(collectEnv(target.pid));
      const metadata: MetadataRecord = {
        kind: 'metadata',
        pid: target.pid,
        cmd: target.cmd,
        executable: target.executable,
        t0_ms: Date.now(),
        version: packageVersion(),
        arch: machine(),
        capabilities: { ebpf: this.ebpf.capability, ...this.ebpf.activity, psi: psiCapability(target.pid) },
      };
      if (target.cgroup) metadata.cgroup = target.cgroup.path;
      emit(metadata);
    } catch (err) {
      failure = err;
    }

    const tracer = this.ebpf.tracer;
    const includeChildren = opts.includeChildren ?? true;
    const monitor = new ProcessTreeMonitor({
      pid: target.pid,
      includeChildren,
      sinceProcessStart: opts.sinceProcessStart,
      reapedByThisProcess: target.ownChild,
      exitAccounting: tracer?.accountsExits ?? false,
      adoptsOrphans: (target.adopts ?? false) && includeChildren,
      exclude: target.exclude,
      joiners: target.cgroup ? () => cgroupPids(target.cgroup!.dir) : undefined,
    });
    const acc = new SummaryAccumulator();
    const warn = (m: string) => this.observer.warn?.(m);
    const sampler = tracer
      ? new EbpfSampler(tracer, t0, warn, {
        filter: opts.ebpf ? filterOf(opts.ebpf) : undefined,
        // The kernel's stack tables are drained at each sample and at least this often.
        stacks: { every: opts.ebpf?.stacks?.every ?? 1, startedAtMs: Date.now(), executable: target.executable, drainMs: Math.min(opts.intervalMs ?? 100, DRAIN_MS) },
      })
      : undefined;
    const reaper = target.adopts ? await import('../loader/process.js') : undefined;
    const keep = new Set([target.pid, ...target.exclude]);
    let rootDone = false;
    void target.rootExited?.then(() => { rootDone = true; });
    const intervalMs = opts.intervalMs ?? 100;
    const maxIntervalMs = opts.maxIntervalMs ?? Math.max(1000, intervalMs);
    const durationMs = (opts.durationSec ?? 0) * 1000;

    let last: TreeRecord | SampleRecord | null = null;
    /** One sample: what the kernel holds first (orphans reaped, exits and counts read), then /proc. */
    const step = (): TreeRecord | SampleRecord | null => {
      // Orphans that exited are reaped by us: their figures are credited to us, their pids freed.
      reaper?.reapChildren(keep);
      const snap = sampler?.read();
      const rec = monitor.sample({ exits: snap?.exits, activity: snap?.activity, kernelAlive: snap?.tracked });
      if (rec) {
        if (snap && sampler) {
          const m = rec.kind === 'tree' ? rec.aggregated : rec;
          const block = sampler.sample(snap, m.cpu_usage, timeEvidenceOf(m));
          if (rec.kind === 'tree') rec.aggregated.ebpf = block;
          else rec.ebpf = block;
        }
        // Stacks: what naming their frames needs from the processes alive now.
        sampler?.stacks?.poll(rec.kind === 'tree' ? [target.pid, ...rec.children.map((c) => c.pid)] : [target.pid]);
        waitingFor = rootDone && target.followDescendants && rec.kind === 'tree' ? rec.aggregated.process_count : undefined;
        acc.add(rec);
        emit(rec);
        last = rec;
        if (snap && sampler && this.observer.syscallTable) {
          const rows = sampler.table(snap);
          if (rows) this.observer.syscallTable(rows, rec.ts_ms);
        }
      }
      for (const p of monitor.takeProcessRecords()) {
        acc.addProcess(p);
        sampler?.noteProcess(p);
        emit(p);
      }
      return rec;
    };

    try {
      while (!stopper.reason && failure === undefined) {
        const rec = step();
        if (rec === null) {
          stopper.stop('exited');
          break;
        }
        const elapsedMs = performance.now() - t0;
        if (durationMs > 0 && elapsedMs >= durationMs) {
          stopper.stop('duration');
          break;
        }
        let wait = adaptiveIntervalMs(elapsedMs, intervalMs, maxIntervalMs);
        if (durationMs > 0) wait = Math.min(wait, Math.max(0, durationMs - elapsedMs));
        await stopper.sleep(wait);
      }
      // The tree (or, not following it, the command) ended between samples: one last sample takes what
      // it did since the previous one and the syscalls made until the end.
      if (stopper.reason === 'exited' && failure === undefined) step();
    } catch (err) {
      failure = err;
    }
    if (failure !== undefined) stopper.stop('error');

    const lastRec = last as TreeRecord | SampleRecord | null;
    const left = lastRec?.kind === 'tree' && rootDone && !target.followDescendants ? lastRec.aggregated.process_count : 0;
    monitor.close();
    try {
      for (const p of monitor.takeProcessRecords()) {
        acc.addProcess(p);
        sampler?.noteProcess(p);
        emit(p);
      }
    } catch (err) {
      failure ??= err;
    }
    const base = acc.finish();
    // The whole-run syscall analysis uses the run's mean CPU, as the summary reports it.
    const lastM = lastRec ? (lastRec.kind === 'tree' ? lastRec.aggregated : lastRec) : undefined;
    const ebpf = sampler?.summary(base.avg_cpu_usage, lastM ? timeEvidenceOf(lastM) : undefined);
    sampler?.stacks?.stop();
    const summary = ebpf ? acc.finish({ ebpf }) : base;
    try {
      emit(summary);
    } catch (err) {
      failure ??= err;
    }
    if (failure !== undefined) throw new MonitoringFailedError(failure);
    return { summary, left };
  }
}

/** Spawns and waits for the spawn to succeed or fail, so exec errors become one clear line. */
function startChild(spawnFn: () => ChildProcess, name: string): Promise<ChildProcess> {
  const child = spawnFn();
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (err: NodeJS.ErrnoException) => reject(new SpawnError(name, err.code ?? err.message)));
  });
}

/** Whether we belong to our controlling terminal's foreground process group (so does the command). */
function inTerminalForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const tpgid = Number(fields[5]);
    return tpgid > 0 && tpgid === pgrp;
  } catch {
    return false;
  }
}

/** Whether the process still runs: a zombie leader counts only while other threads of it run (pthread_exit). */
function alive(pid: number): boolean {
  const st = readStat(pid);
  return st !== null && !((st.state === 'Z' || st.state === 'X') && st.numThreads <= 1);
}

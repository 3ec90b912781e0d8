// The process timeline: every process of the tree with its start, exit, exit status and CPU. From the
// per-process exit records when the run wrote them (exact, short-lived children included), else from
// what the samples saw (start from the process's uptime at first sight, exit at the last sample it
// was listed in; processes that lived between two samples are not seen).
import { commandName, isObj, num, runEbpf, signalName, str, type Obj, type Run } from './read.js';
import type { ProcRow, ProcessView } from './types.js';

/** Rows kept in the file: beyond this the lightest processes are counted, not drawn. */
export const MAX_ROWS = 5000;
/** Up to this many processes get a row each; more are packed into shared lanes. */
export const MAX_ROW_LAYOUT = 60;
const MAX_LANES = 200;
const MAX_COMMAND = 300;

type Draft = Omit<ProcRow, 'cmd' | 'lane' | 'depth'> & { command: string };

export function buildProcesses(run: Run): ProcessView {
  const end = run.frames[run.frames.length - 1]!.t;
  const rootPid = num(run.meta?.pid);
  let drafts: Draft[];
  let source: ProcessView['source'];
  if (run.processes.length > 0) {
    drafts = fromRecords(run);
    source = 'process records';
  } else {
    drafts = fromSamples(run);
    source = drafts.length > 0 ? 'samples' : 'none';
  }

  // The lightest processes give way first when there are too many to draw.
  let hidden = { count: 0, cpu_secs: 0 };
  if (drafts.length > MAX_ROWS) {
    const weight = (d: Draft) => (d.pid === rootPid ? Infinity : (d.cpu_secs ?? 0) * 1e6 + ((d.end ?? end) - d.start));
    const sorted = [...drafts].sort((a, b) => weight(b) - weight(a));
    const dropped = sorted.slice(MAX_ROWS);
    hidden = { count: dropped.length, cpu_secs: dropped.reduce((s, d) => s + (d.cpu_secs ?? 0), 0) };
    drafts = sorted.slice(0, MAX_ROWS);
  }

  const commands: string[] = [];
  const index = new Map<string, number>();
  // Command lines can be kilobytes long (compilers): the table keeps the first MAX_COMMAND characters.
  const cmdIndex = (full: string) => {
    const c = full.length > MAX_COMMAND ? full.slice(0, MAX_COMMAND) + '…' : full;
    let i = index.get(c);
    if (i === undefined) index.set(c, (i = commands.push(c) - 1));
    return i;
  };
  const depthOf = depths(drafts, rootPid);
  const layout: ProcessView['layout'] = drafts.length <= MAX_ROW_LAYOUT ? 'rows' : 'packed';
  const ordered = layout === 'rows' ? treeOrder(drafts, rootPid) : [...drafts].sort((a, b) => a.start - b.start || a.pid - b.pid);
  const rows: ProcRow[] = [];
  const laneEnd: number[] = [];
  const gap = Math.max(end, 1e-3) / 400;
  for (const d of ordered) {
    let lane = rows.length;
    if (layout === 'packed') {
      lane = laneEnd.findIndex((e) => e + gap <= d.start);
      if (lane < 0) {
        if (laneEnd.length >= MAX_LANES) {
          hidden.count++;
          hidden.cpu_secs += d.cpu_secs ?? 0;
          continue;
        }
        lane = laneEnd.length;
        laneEnd.push(0);
      }
      laneEnd[lane] = d.end ?? end;
    }
    const { command, ...rest } = d;
    rows.push({ ...rest, cmd: cmdIndex(command), lane, depth: depthOf.get(d.pid) ?? 1 });
  }
  const kernelOnly = kernelOnlyProcesses(run, new Set(drafts.map((d) => d.pid)));
  const note = source === 'process records'
    ? 'from the exit record of every process (start, exit and status as the kernel reported them)'
    : source === 'samples'
      ? 'from the samples: start = first sighting minus the process\'s uptime, exit = the last sample it was listed in; processes that lived between two samples are not shown and exit codes are unknown'
      : 'the samples list no processes';
  return {
    source, commands, rows, layout, lanes: layout === 'rows' ? rows.length : laneEnd.length, end, hidden, kernelOnly,
    note,
  };
}

function fromRecords(run: Run): Draft[] {
  const t = (ms: unknown) => { const v = num(ms); return v === null ? null : (v - run.t0_ms) / 1000; };
  const out: Draft[] = [];
  for (const p of run.processes) {
    const pid = num(p.pid);
    if (pid === null) continue;
    const start = t(p.start_ms);
    out.push({
      pid,
      ppid: num(p.ppid),
      command: str(p.command) ?? str(p.comm) ?? `pid ${pid}`,
      start: start === null ? 0 : Math.max(0, start),
      // A start just before monitoring began is the command's own spawn; much earlier, it predates us.
      ...(start === null || start < -0.5 ? { start_approx: true } : {}),
      end: t(p.exit_ms),
      exit_code: num(p.exit_code),
      signal: signalName(p.signal),
      cpu_secs: num(p.cpu_time_secs),
      peak_rss_kb: num(p.peak_mem_rss_kb) ?? num(p.peak_rss_kb),
      read_bytes: num(p.disk_read_bytes),
      write_bytes: num(p.disk_write_bytes),
      ...(str(p.figures) !== null ? { figures: str(p.figures)! } : {}),
    });
  }
  return out;
}

function fromSamples(run: Run): Draft[] {
  const seen = new Map<number, Draft & { lastT: number }>();
  const fr = run.frames;
  const last = fr[fr.length - 1]!;
  const alive = new Set(last.procs.map((p) => p.pid));
  fr.forEach((f, i) => {
    const dt = i > 0 ? f.t - fr[i - 1]!.t : 0;
    for (const p of f.procs) {
      const m = p.metrics;
      let d = seen.get(p.pid);
      if (!d) {
        const up = num(m.uptime_secs);
        const start = up === null ? f.t : f.t - up;
        d = {
          pid: p.pid, ppid: null, command: p.command, start: Math.max(0, start), end: f.t, lastT: f.t,
          exit_code: null, signal: null, cpu_secs: 0, peak_rss_kb: null, read_bytes: null, write_bytes: null,
          // Half a second before monitoring began: it started before us (attach), not just before the first sample.
          ...(up === null || start < -0.5 ? { start_approx: true } : {}),
        };
        seen.set(p.pid, d);
      }
      d.command = p.command || d.command;
      d.end = f.t;
      const cpu = num(m.cpu_usage);
      if (cpu !== null && i > 0) d.cpu_secs! += (cpu / 100) * dt;
      const rss = num(m.mem_rss_kb);
      if (rss !== null) d.peak_rss_kb = Math.max(d.peak_rss_kb ?? 0, rss);
      d.read_bytes = num(m.disk_read_bytes) ?? d.read_bytes;
      d.write_bytes = num(m.disk_write_bytes) ?? d.write_bytes;
    }
  });
  return [...seen.values()].map(({ lastT: _l, ...d }) => ({
    ...d,
    end: alive.has(d.pid) ? null : d.end,
    cpu_secs: Math.round(d.cpu_secs! * 1000) / 1000,
  }));
}

function depths(drafts: Draft[], rootPid: number | null): Map<number, number> {
  const parent = new Map(drafts.map((d) => [d.pid, d.ppid]));
  const out = new Map<number, number>();
  for (const d of drafts) {
    let depth = 0;
    let p: number | null | undefined = d.pid;
    // Walk up while the parent is in the tree (bounded: a pid cycle cannot loop forever).
    while (p !== null && p !== undefined && p !== rootPid && depth < 64) {
      const up = parent.get(p);
      if (up === null || up === undefined) { depth++; break; }
      p = up;
      depth++;
    }
    out.set(d.pid, depth);
  }
  return out;
}

/** Parents before children, siblings by start; processes whose parent is unknown by start after the root. */
function treeOrder(drafts: Draft[], rootPid: number | null): Draft[] {
  const pids = new Set(drafts.map((d) => d.pid));
  const kids = new Map<number | null, Draft[]>();
  for (const d of drafts) {
    const key = d.pid === rootPid ? null : d.ppid !== null && pids.has(d.ppid) ? d.ppid : -1;
    if (!kids.has(key)) kids.set(key, []);
    kids.get(key)!.push(d);
  }
  for (const list of kids.values()) list.sort((a, b) => a.start - b.start || a.pid - b.pid);
  const out: Draft[] = [];
  const visit = (key: number | null) => {
    for (const d of kids.get(key) ?? []) {
      out.push(d);
      if (kids.has(d.pid) && out.length <= drafts.length) visit(d.pid);
    }
  };
  visit(null);
  const orphans = kids.get(-1) ?? [];
  for (const d of orphans) {
    out.push(d);
    if (kids.has(d.pid)) visit(d.pid);
  }
  // Parent links that form a cycle (pid reuse) are reachable from nowhere: append them by start.
  const placed = new Set(out);
  for (const d of [...drafts].sort((a, b) => a.start - b.start)) if (!placed.has(d)) out.push(d);
  const seen = new Set<Draft>();
  return out.filter((d) => (seen.has(d) ? false : (seen.add(d), true)));
}

function kernelOnlyProcesses(run: Run, known: Set<number>): ProcessView['kernelOnly'] {
  const byProcess = runEbpf(run)?.by_process;
  const comms = new Map<string, number>();
  let count = 0;
  for (const e of Array.isArray(byProcess) ? byProcess : []) {
    if (!isObj(e) || num(e.pid) === null || known.has(e.pid as number)) continue;
    count++;
    const comm = commandName(str((e as Obj).comm) ?? '?');
    comms.set(comm, (comms.get(comm) ?? 0) + 1);
  }
  return { count, comms: [...comms].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([comm, n]) => ({ comm, count: n })) };
}

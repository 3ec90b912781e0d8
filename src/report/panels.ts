// The time-series panels: which series each draws, how they are named and coloured, and the
// downsampling to a bounded number of points. A panel whose series are all missing or all zero is
// left out, and the caller says why in the header (`quiet` / `lacks`), so no panel is ever empty.
import { pick, selectRows } from './downsample.js';
import { hasAny, type Col, type Series } from './series.js';
import { CATEGORY_COLORS, PALETTE } from './palette.js';
import type { Panel, SeriesSpec, Unit } from './types.js';

interface Draft {
  id: string;
  title: string;
  note: string;
  unit: Unit;
  series: (SeriesSpec & { values: Col })[];
}

/** True when a series carries some value other than 0. */
const active = (c: Col) => c.some((v) => v !== null && v !== 0);

export interface PanelResult {
  panels: Panel[];
  /** Panels left out because the run recorded their data but it was zero throughout. */
  quiet: string[];
}

export function buildPanels(s: Series, maxPoints: number): PanelResult {
  const drafts: Draft[] = [];
  const quiet: string[] = [];
  const add = (d: Draft, quietText?: string) => {
    d.series = d.series.filter((x) => hasAny(x.values));
    if (d.series.length === 0) return;
    if (!d.series.some((x) => active(x.values))) {
      if (quietText) quiet.push(quietText);
      return;
    }
    drafts.push(d);
  };

  const cpuSeries: Draft['series'] = s.cpuByCommand.map((c, i) => ({ label: c.name, color: PALETTE[i % PALETTE.length]!, stack: true, values: c.values }));
  if (active(s.cpuUnattributed)) cpuSeries.push({ label: 'not attributed (exited between samples)', color: '#d0d0d0', stack: true, values: s.cpuUnattributed });
  cpuSeries.push({ label: 'tree total', color: '#222222', values: s.cpu });
  add({ id: 'cpu', title: 'CPU', note: 'per command, stacked, and the whole tree; 100 % = one core', unit: 'percent', series: cpuSeries }, 'CPU: 0 % throughout');

  add({ id: 'memory', title: 'Memory (RSS)', note: 'resident set size summed over the live processes', unit: 'bytes',
    series: [{ label: 'RSS', color: PALETTE[0]!, values: s.rss_kb.map((v) => (v === null ? null : v * 1024)) }] });

  add({ id: 'disk', title: 'Disk I/O', note: 'block-device bytes per second; read()/write() bytes include the page cache, pipes and tmpfs',
    unit: 'bytes_per_sec', series: [
      { label: 'disk read', color: PALETTE[0]!, values: s.disk_read },
      { label: 'disk write', color: PALETTE[1]!, values: s.disk_write },
      { label: 'read() bytes', color: PALETTE[0]!, dash: true, values: s.rchar },
      { label: 'write() bytes', color: PALETTE[1]!, dash: true, values: s.wchar },
    ] }, 'disk and read()/write(): no bytes moved');

  if (s.netScope) {
    add({ id: 'network', title: s.netScope === 'tree' ? 'Network (the tree)' : 'Network (namespace)',
      note: s.netScope === 'tree' ? 'bytes per second sent and received by the tree\'s sockets' : 'bytes per second on all interfaces of the network namespace, every process in it counted',
      unit: 'bytes_per_sec', series: [
        { label: 'tx', color: PALETTE[3]!, values: s.net_tx },
        { label: 'rx', color: PALETTE[4]!, values: s.net_rx },
      ] }, `network (${s.netScope === 'tree' ? 'the tree' : 'namespace'}): no traffic`);
  }

  add({ id: 'syscalls', title: 'Syscalls by category', note: 'syscalls per second, stacked by category (counted in the kernel)', unit: 'per_sec',
    series: Object.entries(s.sys_by_cat).map(([cat, values]) => ({ label: cat, color: CATEGORY_COLORS[cat] ?? '#999999', stack: true, values })) }, 'syscalls: none counted');

  add({ id: 'errors', title: 'Syscall errors', note: 'failed syscalls per second (return value -4095..-1)', unit: 'per_sec',
    series: [{ label: 'errors', color: PALETTE[3]!, values: s.sys_errors }] }, 'syscall errors: none');

  add({ id: 'systime', title: 'Time in syscalls', note: 'seconds spent inside syscalls per second of wall time (2 = two threads in syscalls all the time)', unit: 'secs_per_sec',
    series: [{ label: 'in syscalls', color: PALETTE[6]!, values: s.sys_time }] }, 'time in syscalls: none');

  add({ id: 'offcpu', title: 'Off-CPU and run-queue wait', note: 'seconds per second: blocked (sleep, I/O, locks), and runnable but waiting for a CPU', unit: 'secs_per_sec',
    series: [
      { label: 'off-CPU', color: PALETTE[8]!, values: s.off_cpu },
      { label: 'run-queue wait', color: PALETTE[3]!, values: s.runq },
    ] }, 'off-CPU and run-queue wait: none');

  const psiColors: Record<string, string> = { cpu: PALETTE[1]!, memory: PALETTE[2]!, io: PALETTE[0]! };
  add({ id: 'psi', title: `Pressure (PSI, ${s.psiSource ?? 'unknown source'})`, note: '% of time some (or all) tasks were stalled on the resource', unit: 'percent',
    series: Object.entries(s.psi).map(([key, values]) => ({ label: key, color: psiColors[key.split(' ')[0]!] ?? '#999999', dash: key.endsWith('full'), values })) },
  'pressure (PSI): no stalls');

  add({ id: 'threads', title: 'Threads and processes', note: 'live threads and processes of the tree', unit: 'count', series: [
    { label: 'threads', color: PALETTE[6]!, values: s.threads },
    { label: 'processes', color: PALETTE[2]!, values: s.procs },
  ] });

  return { panels: drafts.map((d) => finish(d, s.t, maxPoints)), quiet };
}

function finish(d: Draft, t: number[], maxPoints: number): Panel {
  const cols = d.series.map((x) => x.values);
  const stacked = d.series.filter((x) => x.stack).map((x) => x.values);
  // A stacked panel's peaks are those of its top edge too.
  if (stacked.length > 1) cols.push(t.map((_, i) => stacked.reduce((sum, c) => sum + (c[i] ?? 0), 0)));
  const rows = selectRows(t, cols, maxPoints);
  const round = (v: number | null) => (v === null ? null : Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000);
  return {
    id: d.id,
    title: d.title,
    note: d.note,
    unit: d.unit,
    series: d.series.map(({ values: _values, ...spec }) => spec),
    x: pick(t, rows).map((v) => Math.round(v * 1000) / 1000),
    ys: d.series.map((x) => pick(x.values, rows).map(round)),
    ...(rows.length < t.length ? { downsampled: { from: t.length, to: rows.length } } : {}),
  };
}

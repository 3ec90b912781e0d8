// The report without a browser: what it reads (this version, older versions, denet, damaged files),
// what it refuses, its size on a 1-hour run, that it names nothing on the network, and the CLI.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildReport, buildReportData, fileChunks, ReportInputError, type ReportData } from '../src/report/index.js';
import { runCli } from './_lib/cli.js';
import { synthRun } from './_lib/synth.js';
import { scratchDir } from './_lib/workloads.js';

const test = suite('report');

/** The JSON embedded in a report. */
function dataOf(html: string): ReportData {
  const m = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'the data block is there');
  return JSON.parse(m[1]!) as ReportData;
}

const metric = (ts: number, extra: Record<string, unknown> = {}) => ({
  ts_ms: ts, cpu_usage: 50, mem_rss_kb: 1000, mem_vms_kb: 2000, disk_read_bytes: ts - 1000, disk_write_bytes: 0, syscall_read_bytes: 0,
  syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0, thread_count: 1, uptime_secs: (ts - 1000) / 1000, netns_rx_bytes: 0, netns_tx_bytes: 0, ...extra,
});

test('a 1-hour run (36 000 samples, every newer field) stays under 5 MiB with every panel bounded', () => {
  const html = buildReport(synthRun({ samples: 36_000 }));
  assert.ok(html.length < 5 * 1024 * 1024, `${(html.length / 1048576).toFixed(2)} MiB`);
  const d = dataOf(html);
  assert.equal(d.panels.map((p) => p.id), ['cpu', 'memory', 'disk', 'network', 'syscalls', 'errors', 'systime', 'offcpu', 'psi', 'threads']);
  for (const p of d.panels) {
    assert.ok(p.x.length <= 2000, `${p.id}: ${p.x.length} points`);
    assert.ok(p.downsampled && p.downsampled.from === 36_000, `${p.id} says it is downsampled`);
    for (const y of p.ys) assert.is(y.length, p.x.length);
  }
  // The CPU peak of the run survives downsampling.
  const cpu = d.panels[0]!;
  const total = cpu.ys[cpu.series.findIndex((s) => s.label === 'tree total')]!;
  assert.ok(Math.max(...total.map((v) => v ?? 0)) > 200, 'the 205 % peak is kept');
  assert.is(d.header.lacks.length, 0, `lacks: ${d.header.lacks.map((l) => l.what)}`);
  assert.is(d.header.exit, 'exit 2');
  assert.is(d.processes.source, 'process records');
  assert.is(d.processes.layout, 'packed');
  assert.ok(d.syscalls!.tableHasTimes && d.syscalls!.table[0]!.hist_log2_us!.length > 0);
  assert.ok(d.flame && d.flame.stacks.length === 1500);
  assert.equal(d.processes.kernelOnly.comms, [{ comm: 'sh', count: 1 }]);
});

test('pathological sizes: 9000 processes with 4 KiB command lines and 4000 stacks 200 frames deep stay under 5 MiB', () => {
  const html = buildReport(synthRun({ samples: 36_000, processes: 9000, commandPad: 4096, stacks: 4000, stackDepth: 200 }));
  assert.ok(html.length < 5 * 1024 * 1024, `${(html.length / 1048576).toFixed(2)} MiB`);
  const d = dataOf(html);
  assert.ok(d.flame!.hidden.stacks > 0, 'the lightest stacks are counted, not kept');
  assert.ok(d.processes.commands.every((c) => c.length <= 301));
});

test('the file references nothing on the network and forbids fetching anything', () => {
  const html = buildReport(synthRun({ samples: 300 }));
  assert.not.match(html, /https?:\/\//i);
  assert.not.match(html, /\b(src|href)\s*=/i);
  assert.not.match(html, /@import|url\(\s*['"]?(?!data:)/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('a command holding </script> and U+2028 cannot break out of the data block', () => {
  const evil = ['sh', '-c', 'echo "</script><script>alert(1)</script>\u2028"'];
  const text = [JSON.stringify({ kind: 'metadata', pid: 1, cmd: evil, executable: '/bin/sh', t0_ms: 1000, version: '1', capabilities: { ebpf: { available: false } } }),
    JSON.stringify({ kind: 'sample', ...metric(1100) }), JSON.stringify({ kind: 'sample', ...metric(1200) })].join('\n');
  const html = buildReport(text);
  assert.is(html.split('</script>').length - 1, 2, 'only the two script elements close');
  assert.ok(dataOf(html).header.command.includes('</script>'), 'the command is shown as it was');
  assert.not.match(html.slice(0, html.indexOf('<body>')), /<script>alert/);
});

test('denet files (records without kind) and older denet-pure files (no window, no version) are read', () => {
  const t0 = 1000;
  const denet = [
    { pid: 42, cmd: ['python3', 'job.py'], executable: '/usr/bin/python3', t0_ms: t0 },
    ...[1, 2, 3, 4].map((i) => ({ ts_ms: t0 + i * 100, parent: metric(t0 + i * 100), children: [{ pid: 43, command: 'gzip -9', metrics: metric(t0 + i * 100) }],
      aggregated: { ...metric(t0 + i * 100), process_count: 2, ebpf: { syscalls: { total: i * 1000, by_category: { file_io: i * 900, memory: i * 100 }, top_syscalls: [{ name: 'read', count: i * 900 }] } } } })),
    { total_time_secs: 0.3, sample_count: 4, max_processes: 2, max_threads: 2, peak_mem_rss_kb: 2000, avg_cpu_usage: 100, peak_cpu_usage: 100 },
  ].map((r) => JSON.stringify(r)).join('\n');
  const d = buildReportData(denet);
  assert.match(d.header.producer, /denet/);
  assert.is(d.header.command, 'python3 job.py');
  const sys = d.panels.find((p) => p.id === 'syscalls');
  assert.ok(sys, 'syscall rates come from cumulative differences when there is no window');
  const fileIo = sys.ys[sys.series.findIndex((s) => s.label === 'file_io')]!;
  assert.is(fileIo[1], 9000, '900 file_io syscalls in 0.1 s');
  assert.equal(d.processes.rows.map((r) => r.pid).sort(), [42, 43]);
  assert.ok(d.header.lacks.some((l) => l.what === 'syscall errors and time'));
});

test('--exclude-children files (sample records) report the process alone and say so', () => {
  const text = [JSON.stringify({ kind: 'metadata', pid: 7, cmd: ['sleep', '1'], executable: '/bin/sleep', t0_ms: 1000, version: '0.1.0', capabilities: { ebpf: { available: false, reason: 'not requested (use --enable-ebpf)' } } }),
    ...[1, 2, 3].map((i) => JSON.stringify({ kind: 'sample', ...metric(1000 + i * 100) }))].join('\n');
  const d = buildReportData(text);
  assert.ok(d.header.lacks.some((l) => l.what === 'children'));
  assert.ok(d.header.lacks.some((l) => l.what === 'syscalls' && /--enable-ebpf/.test(l.why)));
  assert.ok(d.header.warnings.some((w) => /no summary record/.test(w)), 'a missing summary is said');
  assert.is(d.syscalls, null);
  assert.ok(!d.panels.some((p) => p.id === 'threads' && p.series.some((s) => s.label === 'processes')));
});

test('damaged input: empty, no samples, garbage lines, absurd values, unsorted samples', () => {
  assert.throws(() => buildReportData(''), (e: unknown) => e instanceof ReportInputError && /no records/.test((e as Error).message));
  assert.throws(() => buildReportData('{"kind":"metadata","pid":1,"cmd":[],"t0_ms":0}\n'), (e: unknown) => e instanceof ReportInputError && /no samples/.test((e as Error).message));
  assert.throws(() => buildReportData('not json\n[1,2]\n'), (e: unknown) => e instanceof ReportInputError);
  const lines = [
    'garbage', '{"kind":"tree","ts_ms":1300,"parent":null,"children":"nope","aggregated":{"cpu_usage":"high","mem_rss_kb":null,"process_count":1}}',
    JSON.stringify({ kind: 'tree', ts_ms: 1100, parent: null, children: [{ pid: 'x' }, null, { pid: 5, command: 5, metrics: metric(1100, { cpu_usage: 1e308 }) }], aggregated: { ...metric(1100), cpu_usage: -5, process_count: 1, ebpf: { syscalls: 'broken' } } }),
    JSON.stringify({ kind: 'tree', ts_ms: 1200, parent: null, children: [], aggregated: { ...metric(1200), process_count: 0, psi: { source: 'system', cpu: 'x' } } }),
    JSON.stringify({ kind: 'process', pid: 'nope' }), JSON.stringify({ kind: 'summary', total_time_secs: 'long', ebpf: { stacks: { folded: [{ stack: 3, count: 'x' }, { stack: 'a;b', count: 2 }] }, syscalls: { table: [{ name: 'read' }, 'x'] } } }),
    '{"kind":"tree","ts_ms":12',
  ];
  const d = buildReportData(lines.join('\n'));
  assert.ok(d.header.warnings.some((w) => /2 lines skipped/.test(w)), d.header.warnings.join('; '));
  assert.ok(d.panels.length > 0);
  for (const p of d.panels) for (let i = 1; i < p.x.length; i++) assert.ok(p.x[i]! >= p.x[i - 1]!, 'samples sorted by time');
  assert.equal(d.flame!.stacks, [['a;b', 2]]);
  assert.is(d.syscalls!.table[0]!.name, 'read');
  assert.ok(buildReport(lines.join('\n')).length > 10_000, 'still renders');
});

test('fileChunks: whole lines, multi-byte characters across the 4 MiB reads, a last line without newline', () => {
  const line = (i: number) => JSON.stringify({ kind: 'sample', ...metric(1000 + i), note: 'é€😀'.repeat(i % 7) });
  const text = Array.from({ length: 40_000 }, (_, i) => line(i)).join('\n') + '\n' + line(1);
  assert.ok(Buffer.byteLength(text) > 3 * (4 << 20), 'spans several reads');
  const path = join(scratchDir(), 'chunks.jsonl');
  writeFileSync(path, text);
  const chunks = [...fileChunks(path)];
  assert.ok(chunks.length > 3);
  for (const c of chunks.slice(0, -1)) assert.ok(c.endsWith('\n'), 'each chunk ends a line');
  assert.is(chunks.join(''), text);
  assert.is(buildReportData(fileChunks(path)).header.warnings.filter((w) => /skipped/.test(w)).length, 0);
});

test('a fork storm: thousands of processes are packed into lanes, the file stays bounded', () => {
  const d = buildReportData(synthRun({ samples: 20_000, processes: 9000 }));
  assert.is(d.processes.layout, 'packed');
  assert.ok(d.processes.rows.length <= 5000 && d.processes.hidden.count > 0, `${d.processes.rows.length} drawn, ${d.processes.hidden.count} hidden`);
  assert.ok(d.processes.lanes <= 200);
  // No two bars overlap in a lane.
  const lanes = new Map<number, [number, number][]>();
  for (const r of d.processes.rows) (lanes.get(r.lane) ?? lanes.set(r.lane, []).get(r.lane)!).push([r.start, r.end ?? d.processes.end]);
  for (const [, bars] of lanes) {
    bars.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < bars.length; i++) assert.ok(bars[i]![0] >= bars[i - 1]![1], 'bars in one lane do not overlap');
  }
});

test('CLI: report writes the HTML (default name from the input), reads stdin, refuses bad invocations with one line', () => {
  const dir = scratchDir();
  const input = join(dir, 'cli-run.jsonl');
  writeFileSync(input, synthRun({ samples: 200, future: false }));
  let r = runCli(['report', input]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(join(dir, 'cli-run.html')), 'FILE.jsonl -> FILE.html');
  r = runCli(['report', '-', '-o', '-']);
  assert.is(r.code, 1, 'empty stdin');
  assert.match(r.stderr, /- holds no records/);
  const viaStdin = runCli(['report', input, '-o', '-']);
  assert.is(viaStdin.code, 0);
  assert.match(viaStdin.stdout, /^<!doctype html>/);
  for (const [args, code, pattern] of [
    [['report'], 2, /report needs a file/],
    [['report', 'a', 'b'], 2, /one file/],
    [['report', input, '--max-points', '7'], 2, /--max-points/],
    [['report', input, '--bogus'], 2, /unknown option/],
    [['report', join(dir, 'missing.jsonl'), '-o', join(dir, 'm.html')], 1, /no such file/],
    [['report', input, '-o', input], 2, /overwrite the input/],
    [['report', input, '-o', join(dir, 'no-such-dir', 'x.html')], 4, /does not exist/],
  ] as [string[], number, RegExp][]) {
    const res = runCli(args);
    assert.is(res.code, code, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, pattern);
    assert.is(res.stderr.trim().split('\n').length, 1, 'one line');
  }
  assert.ok(readFileSync(input, 'utf8').startsWith('{"kind":"env"'), 'the input is untouched');
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '\n\n');
  r = runCli(['report', empty, '-o', join(dir, 'empty.html')]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /holds no records/);
  assert.ok(!existsSync(join(dir, 'empty.html')), 'nothing written on failure');
  r = runCli(['report', '--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /Usage: denet-pure report FILE/);
});

test.run();

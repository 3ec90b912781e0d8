// The Prometheus exporter without the kernel: the state built from records, the exposition in both
// formats (checked by promtool where installed), content negotiation, the HTTP server under a stalled
// scraper, and the CLI's checks of --prometheus.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PrometheusExporter, negotiate, parseListenAddress, FAMILIES, OPEN_BUCKET } from '../src/export/index.js';
import type { MonitorRecord, SyscallRow, TreeRecord } from '../src/monitor/types.js';
import { HIST_BUCKETS } from '../src/tracer/detail.js';
import { syscallTable } from '../src/syscalls/index.js';
import { buildWindowBlock } from '../src/syscalls/analysis.js';
import { hasCommand, scratchDir } from './_lib/workloads.js';
import { runCli } from './_lib/cli.js';
import { metrics } from './_lib/records.js';
import { seriesOf } from './_lib/exposition.js';

const test = suite('prometheus exporter');

const LOSSES = { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 };
const META: MonitorRecord = { kind: 'metadata', pid: 42, cmd: ['svc'], executable: '/usr/bin/svc', t0_ms: 0, version: '9.9.9', capabilities: { ebpf: { available: true, mode: 'raw' } } };

/** A tree record whose window counts `win` syscalls (cumulative figures as given). */
function tree(ts: number, cpuSecs: number, win: Record<string, number>, extra: Record<string, unknown> = {}): TreeRecord {
  const window = { ...buildWindowBlock(new Map(), new Map(Object.entries(win)), 1000), ...extra };
  const base = metrics({ ts_ms: ts, mem_rss_kb: 2048, thread_count: 5, disk_read_bytes: 4096, disk_write_bytes: 8192 });
  delete (base as { cpu_core?: number }).cpu_core;
  return {
    kind: 'tree', ts_ms: ts, parent: null, children: [],
    aggregated: {
      ...base, process_count: 3, cpu_time_secs: cpuSecs,
      ebpf: { syscalls: { total: 0, by_category: {} as never, top_syscalls: [], analysis: {} as never, window }, losses: { ...LOSSES, syscalls_uncounted: 7 } },
    },
  };
}

test('the state: windows add up, the summary raises the totals to its exact ones, gauges are the last sample', async () => {
  const e = await PrometheusExporter.create('svc');
  e.record(META);
  e.record(tree(1000, 1.5, { read: 10, write: 2 }));
  e.record(tree(2000, 2.25, { read: 5, openat: 1 }));
  e.record({ kind: 'process', pid: 43, ppid: 42, command: 'x', start_ms: 0, exit_ms: 1500, exit_code: 0, signal: null, cpu_time_secs: 0, peak_mem_rss_kb: 0, disk_read_bytes: 0, disk_write_bytes: 0, syscall_read_bytes: 0, syscall_write_bytes: 0, page_faults_minor: 0, page_faults_major: 0, figures: 'kernel' });
  let s = seriesOf(await e.render('classic'));
  assert.is(s.get('denet_syscalls_total{syscall="read",category="file_io",target="svc"}'), 15);
  assert.is(s.get('denet_syscalls_total{syscall="openat",category="file_io",target="svc"}'), 1);
  assert.is(s.get('denet_cpu_seconds_total{target="svc"}'), 2.25);
  assert.is(s.get('denet_processes{target="svc"}'), 3);
  assert.is(s.get('denet_threads{target="svc"}'), 5);
  assert.is(s.get('denet_memory_rss_bytes{target="svc"}'), 2048 * 1024);
  assert.is(s.get('denet_disk_write_bytes_total{target="svc"}'), 8192);
  assert.is(s.get('denet_ebpf_syscalls_uncounted_total{target="svc"}'), 7);
  assert.is(s.get('denet_process_exits_total{target="svc"}'), 1);
  assert.is(s.get('denet_monitoring{target="svc"}'), 1);
  assert.is(s.get('denet_info{version="9.9.9",ebpf="raw",target="svc"}'), 1);
  // Without per-syscall detail in the records, those families have no series.
  assert.not.ok([...s.keys()].some((k) => k.startsWith('denet_syscall_errors_total') || k.startsWith('denet_syscall_duration_seconds')));
  // The summary read once more after the last sample: its totals win where larger.
  e.record({ kind: 'summary', total_time_secs: 1, sample_count: 2, max_processes: 3, max_threads: 5, peak_mem_rss_kb: 0, avg_cpu_usage: 0, peak_cpu_usage: 0, total_cpu_time_secs: 2.25, total_disk_read_bytes: 0, total_disk_write_bytes: 0, total_syscall_read_bytes: 0, total_syscall_write_bytes: 0,
    ebpf: { syscalls: { total: 20, by_category: {} as never, top_syscalls: [], analysis: {} as never, by_syscall: { read: 17, write: 2, openat: 1 } }, losses: LOSSES } } as MonitorRecord);
  s = seriesOf(await e.render('classic'));
  assert.is(s.get('denet_syscalls_total{syscall="read",category="file_io",target="svc"}'), 17);
  assert.is(s.get('denet_monitoring{target="svc"}'), 0);
  // A counter served never goes back, whatever a record says.
  assert.is(s.get('denet_ebpf_syscalls_uncounted_total{target="svc"}'), 7);
});

/** A row of the strace -c style table (detail mode), as the session hands it over. */
function row(name: string, calls: number, errors: number, totalUs: number, hist: number[]): SyscallRow {
  const returned = hist.reduce((a, b) => a + b, 0);
  return { name, calls, errors, errnos: errors ? { ENOENT: errors } : {}, total_us: totalUs, avg_us: returned ? totalUs / returned : 0, max_us: 0, hist_log2_us: hist, unfinished: calls - returned };
}
const DETAIL_META: MonitorRecord = { ...META, capabilities: { ebpf: { available: true, mode: 'raw', detail: true } } } as MonitorRecord;
const LE = (i: number) => String(2 ** i / 1e6);

test('detail mode: errors, seconds and the per-category log2 histogram from the cumulative tables', async () => {
  const e = await PrometheusExporter.create('svc');
  e.record(DETAIL_META);
  // Before the first table the families are declared (detail mode), without series.
  let text = await e.render('classic');
  assert.match(text, /^# TYPE denet_syscall_errors_total counter$/m);
  assert.match(text, /^# TYPE denet_syscall_duration_seconds histogram$/m);
  e.record(tree(1000, 1, { openat: 4, read: 2, exit_group: 1 }));
  e.syscallTable([row('openat', 4, 3, 10, [1, 2, 1]), row('read', 2, 0, 1.5, [2]), row('exit_group', 1, 0, 0, [])]);
  let s = seriesOf(await e.render('classic'));
  assert.is(s.get('denet_syscall_errors_total{syscall="openat",category="file_io",target="svc"}'), 3);
  // A syscall that never failed has its series, at 0 (an error ratio is then 0, not absent).
  assert.is(s.get('denet_syscall_errors_total{syscall="read",category="file_io",target="svc"}'), 0);
  assert.ok(Math.abs(s.get('denet_syscall_seconds_total{syscall="openat",category="file_io",target="svc"}')! - 10e-6) < 1e-12);
  // file_io: openat's [1, 2, 1] + read's [2] = [3, 2, 1]; bucket i's bound is 2^i µs.
  const b = (cat: string, le: string) => s.get(`denet_syscall_duration_seconds_bucket{category="${cat}",le="${le}",target="svc"}`);
  assert.is(b('file_io', '0.000001'), 3);
  assert.is(b('file_io', '0.000002'), 5);
  assert.is(b('file_io', '0.000004'), 6);
  assert.is(b('file_io', LE(26)), 6);
  assert.is(b('file_io', '+Inf'), 6);
  assert.is(s.get('denet_syscall_duration_seconds_count{category="file_io",target="svc"}'), 6);
  assert.ok(Math.abs(s.get('denet_syscall_duration_seconds_sum{category="file_io",target="svc"}')! - 11.5e-6) < 1e-12);
  // exit_group never returns: counted as a call, nothing in its category's histogram.
  assert.is(s.get('denet_syscall_duration_seconds_count{category="process",target="svc"}'), 0);
  assert.is(s.get('denet_syscalls_total{syscall="exit_group",category="process",target="svc"}'), 1);
  // Every finite bound 1 µs .. 2^26 µs, then +Inf: the same label set at every scrape.
  const les = [...s.keys()].filter((k) => k.startsWith('denet_syscall_duration_seconds_bucket{category="file_io"')).map((k) => /le="([^"]+)"/.exec(k)![1]);
  assert.equal(les, [...Array.from({ length: OPEN_BUCKET }, (_, i) => LE(i)), '+Inf']);
  assert.is(OPEN_BUCKET, HIST_BUCKETS - 1, 'the last bucket of the kernel histogram is the open-ended one');

  // The next table: cumulative; a call of 2^26 µs or more counts in +Inf only.
  const open = new Array<number>(HIST_BUCKETS).fill(0);
  open[0] = 1; open[1] = 2; open[2] = 1; open[HIST_BUCKETS - 1] = 5;
  e.syscallTable([row('openat', 9, 4, 400e6, open), row('read', 2, 0, 1.5, [2])]);
  s = seriesOf(await e.render('classic'));
  assert.is(s.get('denet_syscall_errors_total{syscall="openat",category="file_io",target="svc"}'), 4);
  assert.is(b('file_io', LE(26)), 6);
  assert.is(b('file_io', '+Inf'), 11);
  assert.is(s.get('denet_syscall_duration_seconds_count{category="file_io",target="svc"}'), 11);
  assert.is(s.get('denet_syscalls_total{syscall="openat",category="file_io",target="svc"}'), 9, 'the table\'s calls are exact');

  // A table that says less (or garbage) never takes a counter back.
  e.syscallTable([row('openat', 1, 0, 0, [0]), { ...row('read', 2, 0, 1.5, [2]), errors: NaN, total_us: -1 }]);
  const again = seriesOf(await e.render('classic'));
  assert.equal(again, s);

  // The summary's table is taken the same way (the last word, when no sample was read).
  e.record({ kind: 'summary', total_time_secs: 1, sample_count: 1, max_processes: 1, max_threads: 1, peak_mem_rss_kb: 0, avg_cpu_usage: 0, peak_cpu_usage: 0, total_cpu_time_secs: 1, total_disk_read_bytes: 0, total_disk_write_bytes: 0, total_syscall_read_bytes: 0, total_syscall_write_bytes: 0,
    ebpf: { syscalls: { total: 12, by_category: {} as never, top_syscalls: [], analysis: {} as never, by_syscall: { openat: 10, read: 2 }, table: [row('openat', 10, 5, 400e6, [...open.slice(0, -1), 6])] }, losses: { ...LOSSES, syscalls_untimed: 2 } } } as MonitorRecord);
  text = await e.render('classic');
  s = seriesOf(text);
  assert.is(s.get('denet_syscall_errors_total{syscall="openat",category="file_io",target="svc"}'), 5);
  assert.is(b('file_io', '+Inf'), 12);
  assert.is(s.get('denet_ebpf_syscalls_untimed_total{target="svc"}'), 2);
});

test('--count-only (no detail in the metadata): the detail families are absent, not zero', async () => {
  for (const meta of [META, { ...META, capabilities: { ebpf: { available: true, mode: 'raw', detail: false } } }, { ...META, capabilities: { ebpf: { available: false, reason: 'x' } } }] as MonitorRecord[]) {
    const e = await PrometheusExporter.create('svc');
    e.record(meta);
    e.record(tree(1000, 1, { openat: 4 }));
    // Even a table handed over by mistake does not bring them in.
    e.syscallTable([row('openat', 4, 3, 10, [1, 2, 1])]);
    for (const format of ['classic', 'openmetrics'] as const) {
      const text = await e.render(format);
      assert.match(text, /denet_syscalls_total\{syscall="openat"/);
      assert.not.match(text, /denet_syscall_errors|denet_syscall_seconds|denet_syscall_duration|denet_ebpf_syscalls_untimed/);
    }
  }
});

test('OpenMetrics: counters declared without _total, samples with it, ends with # EOF; classic has no EOF', async () => {
  const e = await PrometheusExporter.create('svc');
  e.record(META);
  e.record(tree(1000, 1, { read: 1 }));
  const om = await e.render('openmetrics');
  assert.ok(om.endsWith('# EOF\n'));
  assert.match(om, /^# TYPE denet_syscalls counter$/m);
  assert.match(om, /^denet_syscalls_total\{syscall="read"/m);
  assert.not.match(om, /^# TYPE \S+_total /m);
  const classic = await e.render('classic');
  assert.not.match(classic, /# EOF/);
  assert.match(classic, /^# TYPE denet_syscalls_total counter$/m);
  // Each format keeps its own names, however the two are interleaved.
  assert.is(await e.render('classic'), classic);
  e.record(tree(2000, 2, { read: 1 }));
  assert.match(await e.render('classic'), /^# TYPE denet_cpu_seconds_total counter$/m);
  assert.match(await e.render('openmetrics'), /^# TYPE denet_cpu_seconds counter$/m);
});

test('label cardinality is bounded: every syscall of the table once, no pid label, one target', async () => {
  const e = await PrometheusExporter.create('svc');
  e.record(META);
  const table = syscallTable();
  const names = [...new Set(Array.from({ length: 512 }, (_, nr) => table.name(nr)))];
  for (let i = 0; i < 200; i++) {
    const win: Record<string, number> = {};
    for (let k = 0; k < 50; k++) win[names[(i * 50 + k) % names.length]!] = 1;
    e.record(tree(1000 + i, i, win));
  }
  const text = await e.render('classic');
  const syscallSeries = text.split('\n').filter((l) => l.startsWith('denet_syscalls_total{'));
  assert.is(syscallSeries.length, Math.min(names.length, 200 * 50));
  assert.not.match(text, /pid=/);
  const targets = new Set([...text.matchAll(/target="([^"]*)"/g)].map((m) => m[1]));
  assert.equal([...targets], ['svc']);
  assert.ok(FAMILIES.every((f) => /^denet_[a-z_]+$/.test(f.name)), 'names follow the conventions');
});

test('content negotiation follows Accept and its q-values', () => {
  // What Prometheus 2.x sends, and what curl sends.
  assert.is(negotiate('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'), 'openmetrics');
  assert.is(negotiate('*/*'), 'classic');
  assert.is(negotiate(undefined), 'classic');
  assert.is(negotiate('text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5'), 'classic');
  assert.is(negotiate('application/openmetrics-text;q=0'), 'classic');
  assert.is(negotiate('application/OpenMetrics-Text; version=1.0.0'), 'openmetrics');
  assert.is(negotiate('garbage;;;q=x,,'), 'classic');
});

test('addresses: [HOST]:PORT forms, and what is refused', () => {
  assert.equal(parseListenAddress(':9464'), { host: '', port: 9464 });
  assert.equal(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.equal(parseListenAddress('[::1]:9464'), { host: '::1', port: 9464 });
  assert.equal(parseListenAddress('localhost:9464'), { host: 'localhost', port: 9464 });
  for (const bad of ['9464', '127.0.0.1', ':65536', '::1:9464', 'a b:1', ':', '[x]:1', ':-1']) assert.is(parseListenAddress(bad), null, bad);
});

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('HTTP: /metrics in both formats, HEAD, 404 and 405; a stalled scraper blocks neither records nor other scrapes', async () => {
  const e = await PrometheusExporter.create('svc');
  const { port } = await e.listen({ host: '127.0.0.1', port: 0 });
  try {
    e.record(META);
    e.record(tree(1000, 1, { read: 1 }));
    const classic = await get(port, '/metrics');
    assert.is(classic.status, 200);
    assert.match(classic.type, /^text\/plain; version=0\.0\.4/);
    assert.match(classic.body, /denet_syscalls_total\{syscall="read"/);
    const om = await get(port, '/metrics', { Accept: 'application/openmetrics-text; version=1.0.0' });
    assert.match(om.type, /^application\/openmetrics-text/);
    assert.ok(om.body.endsWith('# EOF\n'));
    assert.is((await get(port, '/metrics', {}, 'HEAD')).body, '');
    assert.is((await get(port, '/nope')).status, 404);
    assert.is((await get(port, '/metrics', {}, 'POST')).status, 405);
    // Stalled scrapers: requests sent, responses never read (and one that never finishes its headers).
    const stalled = Array.from({ length: 8 }, () => connect(port, '127.0.0.1'));
    for (const s of stalled) s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
    const half = connect(port, '127.0.0.1');
    half.write('GET /metrics HTTP/1.1\r\nHo');
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) e.record(tree(2000 + i, 1 + i, { read: 1 }));
    const recordMs = performance.now() - t0;
    const again = await get(port, '/metrics');
    assert.match(again.body, /denet_syscalls_total\{syscall="read",category="file_io",target="svc"\} 2001/);
    assert.ok(recordMs < 5000, `2000 records took ${recordMs.toFixed(0)} ms with stalled scrapers`);
    for (const s of [...stalled, half]) s.destroy();
  } finally {
    await e.close();
  }
});

test('a port in use is a clear error from listen', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const e = await PrometheusExporter.create('svc');
    try {
      await e.listen({ host: '127.0.0.1', port });
      assert.unreachable('listen succeeded on a port in use');
    } catch (err) {
      assert.match((err as Error).message, /already in use/);
    }
  } finally {
    blocker.close();
  }
});

test('CLI: bad --prometheus values are one-line usage errors; a port in use starts nothing', async () => {
  let r = runCli(['--prometheus', '9464', 'run', '--', 'true']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^denet-pure: invalid --prometheus '9464': expected \[HOST\]:PORT/);
  r = runCli(['--prometheus-target', 'x', 'run', '--', 'true']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /give --prometheus/);
  const blocker = createServer();
  await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
  const port = (blocker.address() as AddressInfo).port;
  try {
    const out = join(scratchDir(), `prom-inuse-${process.pid}.jsonl`);
    const marker = join(scratchDir(), `prom-inuse-${process.pid}.ran`);
    r = runCli(['--prometheus', `127.0.0.1:${port}`, '--out', out, 'run', '--', 'touch', marker]);
    assert.is(r.code, 4, r.stderr);
    assert.match(r.stderr, /^denet-pure: --prometheus: cannot serve metrics on 127\.0\.0\.1:\d+: the address is already in use/);
    assert.is(r.stderr.trim().split('\n').length, 1);
    assert.not.ok(existsSync(out), 'no output file');
    assert.not.ok(existsSync(marker), 'the command was not started');
  } finally {
    blocker.close();
  }
});

const needPromtool = hasCommand('promtool') ? test : test.skip;
if (!hasCommand('promtool')) console.log('  [skip] promtool is not installed (apt-get install prometheus)');
needPromtool('promtool check metrics passes on the classic exposition, detail families included', async () => {
  const e = await PrometheusExporter.create('svc "a"\\b\nc');
  e.record(DETAIL_META);
  e.record(tree(1000, 1, { read: 1, 'ia32:getpid': 2, syscall_999: 1 }));
  e.syscallTable([row('read', 1, 1, 3, [0, 1]), row('ia32:getpid', 2, 0, 0.5, [2]), row('syscall_999', 1, 1, 0.2, [1])]);
  const text = await e.render('classic');
  assert.match(text, /^denet_syscall_duration_seconds_bucket\{category="file_io",le="\+Inf"/m);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.is((r.stdout + r.stderr).trim(), '', 'no lint findings');
});

test.run();

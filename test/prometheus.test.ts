// --prometheus against a real Prometheus: it scrapes `run`'s exporter every second while a workload
// burns a known amount of CPU and makes a known number of getppid calls; its HTTP API must then hold
// the syscall counts and a CPU counter that grew by what the workload itself measured.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV, readRecords } from './_lib/cli.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { sleep, waitFor } from './_lib/wait.js';
import { hasCommand } from './_lib/workloads.js';
import { categoryOf } from '../src/syscalls/index.js';
import type { SyscallRow } from '../src/monitor/types.js';
import { seriesOf } from './_lib/exposition.js';

const test = suite('prometheus (real server)');

const needs = () => bpfUnavailableReason()
  ?? (hasCommand('prometheus') && hasCommand('promtool') ? null : 'prometheus is not installed (apt-get install prometheus)')
  ?? (hasCommand('python3') ? null : 'python3 is not installed')
  ?? (hasCommand('mkfifo') ? null : 'mkfifo is not available');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function httpGet(url: string, accept?: string): Promise<string> {
  const res = await fetch(url, accept ? { headers: { Accept: accept } } : {});
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
}

/** One number from an instant PromQL query (NaN when it has no result). */
async function query(web: number, promql: string): Promise<number> {
  const body = JSON.parse(await httpGet(`http://127.0.0.1:${web}/api/v1/query?query=${encodeURIComponent(promql)}`));
  const r = body.data?.result?.[0]?.value?.[1];
  return r === undefined ? NaN : Number(r);
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

// The workload: waits for the go, then makes CHDIRS chdir calls to a missing directory (ENOENT: the
// interpreter makes no chdir of its own), 5000 getppid calls, burns 1.5 s of CPU and sleeps 3 s (so
// that Prometheus scrapes its final figures), then reports its own CPU time (user + system since its
// exec) and leaves at once (no interpreter teardown, which would burn CPU after the measurement).
const CHDIRS = 777;
const PY = `import os, time, json
for _ in range(${CHDIRS}):
  try: os.chdir("/nonexistent-denet-pure/missing")
  except OSError: pass
for _ in range(5000): os.getppid()
t = time.process_time()
x = 0
while time.process_time() - t < 1.5: x += 1
time.sleep(3)
tm = os.times()
os.write(1, (json.dumps({"cpu": tm.user + tm.system}) + "\\n").encode())
os._exit(0)`;

kernelTest(test, 'Prometheus scrapes run --prometheus every second: syscall counts equal the summary, CPU grew by what the workload burnt, exact failed calls and latency histogram, promtool passes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'denet-prom-'));
  const fifo = join(dir, 'go');
  const out = join(dir, 'run.jsonl');
  spawnSync('mkfifo', [fifo]);
  // The interpreter itself, not a wrapper script on PATH (e.g. a version manager's shim, whose own
  // processes would add their CPU to the tree but not to the workload's own measure).
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  let denet: ChildProcess | undefined;
  let prom: ChildProcess | undefined;
  try {
    denet = spawn(process.execPath, [CLI, '--enable-ebpf', '--prometheus', '127.0.0.1:0', '--out', out, '-q', 'run', '--', 'sh', '-c', `read x < "$0"; exec "$1" -c '${PY}'`, fifo, python], {
      env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    denet.stdout!.on('data', (c) => (stdout += c));
    denet.stderr!.on('data', (c) => (stderr += c));
    await waitFor(() => /\/metrics/.test(stderr), 30_000);
    const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)?.[1]);
    assert.ok(port > 0, stderr);

    const web = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      'scrape_configs:',
      '  - job_name: denet',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${port}']`,
      '',
    ].join('\n'));
    prom = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${web}`, '--log.level=error',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let promLog = '';
    prom.stderr!.on('data', (c) => (promLog += c));

    // Prometheus is up and has scraped the exporter successfully at least once.
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const t = JSON.parse(await httpGet(`http://127.0.0.1:${web}/api/v1/targets`));
        const target = t.data.activeTargets.find((x: { scrapeUrl: string }) => x.scrapeUrl.includes(`:${port}/`));
        if (target?.health === 'up') break;
        if (target?.lastError) promLog += `\nlast scrape error: ${target.lastError}`;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`Prometheus never scraped the exporter:\n${promLog}`);
      await sleep(250);
    }
    const exposition = await httpGet(`http://127.0.0.1:${port}/metrics`);
    const cpuBefore = await query(web, 'denet_cpu_seconds_total');

    writeFileSync(fifo, 'go\n');
    // promtool on the live classic exposition, mid-run.
    await sleep(1500);
    const live = await httpGet(`http://127.0.0.1:${port}/metrics`);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: live, encoding: 'utf8' });
    assert.is(lint.status, 0, lint.stdout + lint.stderr);
    assert.is((lint.stdout + lint.stderr).trim(), '', 'promtool has no findings');
    assert.match(exposition, /^denet_processes\{target="sh"\} 1$/m);

    assert.is(await exitOf(denet), 0, stderr);
    const own = JSON.parse(stdout.trim().split('\n').at(-1)!).cpu as number;
    assert.ok(own >= 1.4, `the workload burnt ${own} s`);

    const summary = readRecords(out).at(-1)!;
    assert.is(summary.kind, 'summary');
    const getppid = summary.ebpf.syscalls.by_syscall.getppid as number;
    assert.ok(getppid >= 5000, `getppid ${getppid}`);

    // What Prometheus holds now (the exporter is gone: its last samples are in the range).
    const scrapes = await query(web, 'sum_over_time(up{job="denet"}[10m])');
    assert.ok(scrapes >= 5, `successful scrapes: ${scrapes}`);
    const series = await query(web, 'count(max_over_time(denet_syscalls_total[10m]))');
    assert.ok(series >= 10, `syscall series: ${series}`);
    assert.is(await query(web, 'max_over_time(denet_syscalls_total{syscall="getppid",category="process"}[10m])'), getppid);
    const cpuMax = await query(web, 'max_over_time(denet_cpu_seconds_total[10m])');
    const cpuMin = await query(web, 'min_over_time(denet_cpu_seconds_total[10m])');
    assert.ok(cpuMin <= cpuBefore + 1e-9 || Number.isNaN(cpuBefore), `first value ${cpuMin}, before the go ${cpuBefore}`);
    const grew = cpuMax - cpuMin;
    console.log(`  workload CPU ${own.toFixed(3)} s, denet_cpu_seconds_total grew ${grew.toFixed(3)} s in Prometheus; getppid ${getppid}; ${scrapes} scrapes`);
    // The counter also holds the shell's read before the exec: a few milliseconds; ticks are 10 ms.
    assert.ok(Math.abs(grew - own) <= Math.max(0.05, 0.03 * own), `the counter grew by ${grew.toFixed(3)} s, the workload measured ${own.toFixed(3)} s`);
    // The last figures Prometheus saw are the run's final ones.
    assert.ok(Math.abs(cpuMax - summary.total_cpu_time_secs) <= 0.02, `last scraped ${cpuMax}, summary ${summary.total_cpu_time_secs}`);

    // Detail mode (the default): the failed calls, exactly, and the latency histogram.
    const table = summary.ebpf.syscalls.table as SyscallRow[];
    const chdir = table.find((r) => r.name === 'chdir');
    assert.equal(chdir && { calls: chdir.calls, errors: chdir.errors, errnos: chdir.errnos }, { calls: CHDIRS, errors: CHDIRS, errnos: { ENOENT: CHDIRS } });
    assert.is(await query(web, 'max_over_time(denet_syscall_errors_total{syscall="chdir",category="file_io"}[10m])'), CHDIRS);
    assert.is(await query(web, 'max_over_time(denet_syscall_errors_total{syscall="getppid"}[10m])'), 0);
    // After the last scrape (in the sleep) the workload's only calls are times, write and exit_group (which
    // never returns): the process category's returned calls are final there.
    const returned = table.filter((r) => categoryOf(r.name) === 'process').reduce((a, r) => a + r.calls - r.unfinished, 0);
    assert.ok(returned >= 5000, `process calls returned: ${returned}`);
    assert.is(await query(web, 'max_over_time(denet_syscall_duration_seconds_count{category="process"}[10m])'), returned);
    assert.is(await query(web, 'max_over_time(denet_syscall_duration_seconds_bucket{category="process",le="+Inf"}[10m])'), returned);
    const inBuckets = table.filter((r) => categoryOf(r.name) === 'process').reduce((a, r) => a + r.hist_log2_us.reduce((x, y) => x + y, 0), 0);
    assert.is(inBuckets, returned, 'the table\'s histograms hold every returned call');
    const secs = await query(web, 'max_over_time(denet_syscall_seconds_total{syscall="getppid"}[10m])');
    const getppidUs = table.find((r) => r.name === 'getppid')!.total_us;
    assert.ok(Math.abs(secs * 1e6 - getppidUs) < 1, `getppid: ${secs} s scraped, ${getppidUs} µs in the summary`);
    // Buckets are cumulative and end at the count, whatever format Prometheus scraped.
    const le1ms = await query(web, 'max_over_time(denet_syscall_duration_seconds_bucket{category="process",le=~"0.001024|1.024e-03"}[10m])');
    assert.ok(le1ms > 0 && le1ms <= returned, `calls of the process category under 1.024 ms: ${le1ms}`);
    console.log(`  chdir errors ${CHDIRS}; process category: ${returned} returned calls, ${le1ms} under 1.024 ms`);
  } finally {
    if (denet && denet.exitCode === null) denet.kill('SIGKILL');
    if (prom) {
      prom.kill('SIGTERM');
      const stopped = await Promise.race([exitOf(prom).then(() => true), sleep(15_000).then(() => false)]);
      if (!stopped) prom.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}, needs);

kernelTest(test, 'attach: the detail families from the first samples, never going back across scrapes; with --count-only absent', async () => {
  // A churn of processes whose openat fails (cat of a missing file), and a sleep between.
  const target = spawn('sh', ['-c', 'while :; do cat /nonexistent-denet-pure/missing 2>/dev/null; sleep 0.05; done'], { stdio: 'ignore' });
  try {
    for (const countOnly of [false, true]) {
      const denet = spawn(process.execPath, [CLI, ...(countOnly ? ['--count-only'] : ['--enable-ebpf']), '-q', '--prometheus', '127.0.0.1:0', 'attach', String(target.pid)], {
        env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      denet.stderr!.on('data', (c) => (stderr += c));
      try {
        await waitFor(() => /\/metrics/.test(stderr), 30_000);
        const port = Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)![1]);
        let prev = new Map<string, number>();
        let grew = 0;
        let last = '';
        for (let i = 0; i < 12; i++) {
          await sleep(250);
          const text = await httpGet(`http://127.0.0.1:${port}/metrics`);
          const s = seriesOf(text);
          last = text;
          if (countOnly) {
            assert.not.match(text, /denet_syscall_errors|denet_syscall_seconds|denet_syscall_duration|denet_ebpf_syscalls_untimed/);
            continue;
          }
          for (const [k, v] of prev) {
            if (!/_total\{|_bucket\{|_count\{|_sum\{/.test(k)) continue;
            assert.ok(s.has(k), `${k} disappeared`);
            assert.ok(s.get(k)! >= v, `${k} went back: ${v} → ${s.get(k)}`);
          }
          const errs = s.get('denet_syscall_errors_total{syscall="openat",category="file_io",target="sh"}') ?? 0;
          if (errs > (prev.get('denet_syscall_errors_total{syscall="openat",category="file_io",target="sh"}') ?? 0)) grew++;
          // Within a scrape: buckets cumulative in le, the last one the count.
          for (const cat of new Set([...s.keys()].map((k) => /^denet_syscall_duration_seconds_count\{category="(\w+)"/.exec(k)?.[1]).filter(Boolean))) {
            const buckets = [...s].filter(([k]) => k.startsWith(`denet_syscall_duration_seconds_bucket{category="${cat}",`)).map(([, v]) => v);
            assert.is(buckets.length, 28, `${cat}: 27 bounds and +Inf`);
            assert.ok(buckets.every((v, j) => j === 0 || v >= buckets[j - 1]!), `${cat}: cumulative`);
            assert.is(buckets.at(-1), s.get(`denet_syscall_duration_seconds_count{category="${cat}",target="sh"}`));
          }
          prev = s;
        }
        // Counting went on all along: the calls are there, with or without detail.
        assert.match(last, /^denet_syscalls_total\{syscall="openat",category="file_io",target="sh"\} [1-9]/m);
        if (!countOnly) {
          assert.ok(grew >= 3, `openat errors grew at ${grew} of 12 scrapes`);
          const promtool = hasCommand('promtool') ? spawnSync('promtool', ['check', 'metrics'], { input: await httpGet(`http://127.0.0.1:${port}/metrics`), encoding: 'utf8' }) : undefined;
          if (promtool) assert.is(promtool.status, 0, promtool.stdout + promtool.stderr);
        }
        denet.kill('SIGTERM');
        assert.is(await exitOf(denet), 143, stderr);
      } finally {
        if (denet.exitCode === null) denet.kill('SIGKILL');
      }
    }
  } finally {
    target.kill('SIGKILL');
  }
}, () => bpfUnavailableReason());

test.run();

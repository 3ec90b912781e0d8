// Detail mode without the kernel: --trace selection, errno names, the table and per-process/thread
// builders, the strace -c style rendering, `stats --syscalls/--by-process/--by-thread`, CSV columns.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { constants } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CATEGORIES, categoryOf, selectSyscalls, syscallTable } from '../src/syscalls/index.js';
import { ERRNO, errnoName } from '../src/asm/abi.js';
import { HIST_BUCKETS } from '../src/tracer/detail.js';
import type { SyscallSnapshot, SyscallTiming, SyscallTracer } from '../src/tracer/index.js';
import { EbpfSampler } from '../src/session/ebpf.js';
import { ExitedProcesses, MAX_EXITED_LISTED, ProcessNames, buildByProcess, buildByThread, buildTable } from '../src/session/ebpf-detail.js';
import { formatProcessTable, formatSummaryTable, formatSyscallTable, recordsToCsv, sortRows } from '../src/monitor/index.js';
import type { ProcessRecord, SummaryRecord, SyscallRow } from '../src/monitor/index.js';
import { runCli } from './_lib/cli.js';
import { sampleRecord } from './_lib/records.js';

const test = suite('syscall views');

test('--trace: categories expand to this architecture\'s names (file = file_io), names are checked, unknown words named', () => {
  const file = selectSyscalls(['file']);
  assert.equal(file, selectSyscalls(['file_io']));
  assert.ok(file.names.includes('openat') && file.names.includes('read') && !file.names.includes('getpid'));
  assert.ok(file.names.every((n) => categoryOf(n) === 'file_io'));
  for (const c of CATEGORIES) assert.ok(selectSyscalls([c]).names.length > 0 || c === 'other', `${c} selects something`);
  assert.equal(selectSyscalls(['read', ' write ', 'read', '']), { names: ['read', 'write'], unknown: [] });
  assert.equal(selectSyscalls(['nope', 'Read', 'file_ioo']).unknown, ['nope', 'Read', 'file_ioo']);
  const prefix = syscallTable().compat.prefix;
  assert.equal(selectSyscalls([`${prefix}:getpid`]).names, [`${prefix}:getpid`]);
  assert.equal(selectSyscalls([`${prefix}:no_such`]).unknown, [`${prefix}:no_such`]);
});

test('errno names: every number Node knows on this architecture has the name Node gives it (or an alias of it)', () => {
  const names = new Map<number, string[]>();
  for (const [n, v] of Object.entries(constants.errno)) names.set(v, [...(names.get(v) ?? []), n]);
  for (const [v, ns] of names) assert.ok(ns.includes(errnoName(v)), `${v}: ${errnoName(v)} in ${ns}`);
  assert.is(errnoName(2), 'ENOENT');
  assert.is(errnoName(512), 'ERESTARTSYS');
  assert.is(errnoName(516), 'ERESTART_RESTARTBLOCK');
  assert.is(errnoName(4000), 'E4000');
  for (let v = 1; v <= 133; v++) if (v !== 41 && v !== 58) assert.not.match(errnoName(v), /^E\d+$/, `${v} is named`);
  assert.is(new Set(Object.values(ERRNO)).size, Object.keys(ERRNO).length, 'one name per number');
});

const timing = (over: Partial<SyscallTiming>): SyscallTiming => ({ errors: 0, errnos: new Map(), totalNs: 0, maxNs: 0, hist: new Array<number>(HIST_BUCKETS).fill(0), ...over });
const hist = (pairs: [number, number][]) => { const h = new Array<number>(HIST_BUCKETS).fill(0); for (const [b, n] of pairs) h[b] = n; return h; };

function snapshot(over: Partial<SyscallSnapshot> = {}): SyscallSnapshot {
  return {
    atMs: 1000, total: 0, tracked: 0, exits: [],
    bySyscall: new Map([['openat', 5], ['exit_group', 2], ['clock_nanosleep', 1], ['read', 5]]),
    byProcess: new Map([[10, new Map([['openat', 5], ['exit_group', 1], ['read', 5]])], [11, new Map([['exit_group', 1], ['clock_nanosleep', 1]])]]),
    losses: { syscallsUncounted: 0, processesUntracked: 0, exitsUnrecorded: 0, returnsUntimed: 0, errnosUncounted: 0, threadCallsUncounted: 0 },
    timing: new Map([
      ['openat', timing({ errors: 3, errnos: new Map([['ENOENT', 2], ['EACCES', 1]]), totalNs: 10_000, maxNs: 4_000, hist: hist([[1, 2], [2, 3]]) })],
      ['read', timing({ totalNs: 2_500, maxNs: 900, hist: hist([[0, 5]]) })],
      ['clock_nanosleep', timing({})], // in flight at the end
    ]),
    errorsByProcess: new Map([[10, 3]]),
    ...over,
  };
}

test('table: one row per syscall, most calls first; avg over returned calls; unfinished; trimmed histogram', () => {
  const rows = buildTable(snapshot());
  assert.equal(rows.map((r) => r.name), ['openat', 'read', 'exit_group', 'clock_nanosleep']);
  assert.equal(rows[0], { name: 'openat', calls: 5, errors: 3, errnos: { ENOENT: 2, EACCES: 1 }, total_us: 10, avg_us: 2, max_us: 4, hist_log2_us: [0, 2, 3], unfinished: 0 });
  assert.equal(rows[1]!.avg_us, 0.5);
  assert.equal(rows[2], { name: 'exit_group', calls: 2, errors: 0, errnos: {}, total_us: 0, avg_us: 0, max_us: 0, hist_log2_us: [], unfinished: 2 });
  assert.equal([rows[3]!.unfinished, rows[3]!.hist_log2_us], [1, []]);
});

test('by_process: the kernel\'s exit record names a process, else /proc, else its process record; errors only with detail', () => {
  const names = new ProcessNames();
  names.noteRecord({ pid: 11, ppid: 10, command: '/usr/bin/sleep 5' } as ProcessRecord);
  names.noteRecord({ pid: 10, ppid: 1, command: '/opt/a-very-long-program-name --flag' } as ProcessRecord);
  names.noteSnapshot(snapshot({ exits: [{ pid: 10, ppid: 7, comm: 'kernel-name', dead: true } as SyscallSnapshot['exits'][number]] }));
  names.noteRecord({ pid: 10, ppid: 1, command: 'x' } as ProcessRecord); // the kernel's stays
  const by = buildByProcess(snapshot(), names);
  assert.equal(by[0], { pid: 10, ppid: 7, comm: 'kernel-name', total: 11, errors: 3, by_syscall: { openat: 5, read: 5, exit_group: 1 } });
  assert.equal(by[1], { pid: 11, ppid: 10, comm: 'sleep', total: 2, errors: 0, by_syscall: { clock_nanosleep: 1, exit_group: 1 } });
  assert.equal(new ProcessNames().of(process.pid).ppid, process.ppid, 'a live process is read from /proc');
  assert.is(buildByProcess(snapshot({ errorsByProcess: undefined }), names)[0]!.errors, undefined);
  const long = new ProcessNames();
  long.noteRecord({ pid: 999_999_999, ppid: 1, command: '/opt/a-very-long-program-name' } as ProcessRecord);
  assert.is(long.of(999_999_999).comm, 'a-very-long-pro', 'cut to the kernel\'s 15 bytes');
  assert.is(buildByThread(snapshot()), undefined);
  const threads = buildByThread(snapshot({ byThread: new Map([[12, { pid: 10, comm: 'w', bySyscall: new Map([['read', 2], ['futex', 0]]) }], [13, { pid: 10, comm: 'w', bySyscall: new Map([['read', 9]]) }]]) }));
  assert.equal(threads, [{ tid: 13, pid: 10, comm: 'w', total: 9, by_syscall: { read: 9 } }, { tid: 12, pid: 10, comm: 'w', total: 2, by_syscall: { read: 2 } }]);
});

test('by_process keeps the processes whose counts left the kernel (exited, retired), merges a reused pid, sums beyond the bound', () => {
  const names = new ProcessNames();
  const exited = new ExitedProcesses();
  const procs = (entries: [number, Record<string, number>][]) => new Map(entries.map(([pid, c]) => [pid, new Map(Object.entries(c))]));
  const snap = (byProcess: Map<number, Map<string, number>>, errorsByProcess = new Map<number, number>()) => snapshot({ byProcess, errorsByProcess, exits: [] });
  names.noteSnapshot(snapshot({ exits: [{ pid: 21, ppid: 20, comm: 'child', dead: true } as SyscallSnapshot['exits'][number]] }));
  const s1 = snap(procs([[20, { read: 3 }], [21, { openat: 4, exit_group: 1 }]]), new Map([[21, 2]]));
  // 21 has exited: its counts are gone from the next snapshot, and its cells (errors) already were.
  const s2 = snap(procs([[20, { read: 5 }]]), new Map());
  exited.note(undefined, s1, names);
  exited.note(s1, s2, names);
  let { list, rest } = exited.byProcess(s2, names);
  assert.equal(list.map((p) => [p.pid, p.total, p.errors, p.by_syscall]), [[20, 5, 0, { read: 5 }], [21, 5, 2, { openat: 4, exit_group: 1 }]]);
  assert.is(list[1]!.comm, 'child', 'named by its exit record');
  assert.is(rest, undefined);
  // pid 20 exits and a new process gets pid 20 before the next sample: fewer calls under the same pid.
  const s3 = snap(procs([[20, { getpid: 1 }]]));
  exited.note(s2, s3, names);
  ({ list } = exited.byProcess(s3, names));
  assert.equal(list.find((p) => p.pid === 20)!.by_syscall, { read: 5, getpid: 1 }, 'a reused pid adds to the same entry');
  assert.is(list.reduce((a, p) => a + p.total, 0), 11);

  // A churn far beyond the bound: the listed ones are those with the most calls, the rest is summed.
  let prev = s3;
  const n = MAX_EXITED_LISTED * 3;
  for (let i = 0; i < n; i++) {
    const born = snap(procs([[1000 + i, { write: 1 + (i % 7), exit_group: 1 }]]), new Map([[1000 + i, i % 2]]));
    exited.note(prev, born, names);
    prev = born;
  }
  const end = snap(procs([]));
  exited.note(prev, end, names);
  ({ list, rest } = exited.byProcess(end, names));
  assert.is(list.length, MAX_EXITED_LISTED);
  assert.ok(rest !== undefined && rest.processes === n + 2 - list.length, `rest: ${rest?.processes}`);
  const calls = (i: number) => 2 + (i % 7);
  const allCalls = 5 + 1 + 5 + Array.from({ length: n }, (_, i) => calls(i)).reduce((a, b) => a + b, 0);
  assert.is(list.reduce((a, p) => a + p.total, 0) + rest!.total, allCalls, 'nothing lost: listed + rest = every call');
  assert.is(list.reduce((a, p) => a + (p.errors ?? 0), 0) + rest!.errors!, 2 + n / 2);
  assert.is((rest!.by_syscall.write ?? 0) + list.reduce((a, p) => a + (p.by_syscall.write ?? 0), 0), allCalls - 11 - n);
  const least = Math.min(...list.filter((p) => p.pid >= 1000).map((p) => p.total));
  // 2 to 8 calls each, about 430 of each: the top 1000 have 6 or more.
  assert.is(least, 6, 'the listed ones have the most calls');
});

test('samples: the window\'s errors and time are the differences of the cumulative figures', () => {
  let cur = snapshot();
  const fake = { read: () => cur, features: { detail: true, perThread: false } } as unknown as SyscallTracer;
  const sampler = new EbpfSampler(fake, 0, () => {});
  const first = sampler.sample(sampler.read()!, 0).syscalls.window!;
  assert.equal([first.errors, first.time_us], [3, 13]);
  cur = snapshot({ atMs: 2000, timing: new Map([['openat', timing({ errors: 7, totalNs: 30_400 })]]) });
  const second = sampler.sample(sampler.read()!, 0).syscalls.window!;
  assert.equal([second.errors, second.time_us], [4, 18]);
  const summary = sampler.summary(0)!;
  assert.ok(summary.syscalls.table && summary.by_process, 'the summary has the table and by_process');
  assert.is(summary.filter, undefined);
});

const row = (name: string, calls: number, errors: number, totalUs: number, over: Partial<SyscallRow> = {}): SyscallRow =>
  ({ name, calls, errors, errnos: errors ? { ENOENT: errors } : {}, total_us: totalUs, avg_us: totalUs / calls, max_us: totalUs, hist_log2_us: [calls], unfinished: 0, ...over });
const ROWS = [row('read', 100, 0, 50), row('openat', 10, 8, 500), row('nanosleep', 2, 0, 200_000), row('close', 40, 40, 20)];

test('the strace -c style table: sorted as asked, % of time, a total row under its rule, the rest summed', () => {
  assert.equal(sortRows(ROWS, 'time').map((r) => r.name), ['nanosleep', 'openat', 'read', 'close']);
  assert.equal(sortRows(ROWS, 'errors').map((r) => r.name), ['close', 'openat', 'read', 'nanosleep']);
  assert.equal(sortRows(ROWS, 'calls').map((r) => r.name), ['read', 'close', 'openat', 'nanosleep']);
  const text = formatSyscallTable(ROWS, { sort: 'time', color: false });
  const lines = text.trimEnd().split('\n');
  assert.match(lines[0]!, /^% time\s+seconds\s+usecs\/call\s+max usecs\s+calls\s+errors\s+syscall\s+errnos$/);
  assert.match(lines[2]!, /^\s*99\.72\s+0\.200000\s+100000\s+200000\s+2\s+nanosleep$/);
  assert.match(lines[3]!, /openat\s+ENOENT 8$/);
  assert.is(lines.at(-2), lines[1], 'the rule again above the total');
  assert.match(lines.at(-1)!, /^100\.00\s+0\.200570\s+\d+\s+200000\s+152\s+48\s+total$/);
  const top = formatSyscallTable(ROWS, { sort: 'time', limit: 2, color: false }).trimEnd().split('\n');
  assert.match(top[4]!, /^\s*0\.03\s+0\.000070\s+1\s+50\s+140\s+40\s+\(2 more\)$/);
  assert.not.match(formatSyscallTable(ROWS, { color: true }), /^[^\x1b]*$/, 'colour codes when asked');
});

test('the end-of-run summary shows the top rows and what was filtered', () => {
  const rows = Array.from({ length: 14 }, (_, i) => row(`sys${i}`, 10 + i, 0, 100 * i));
  const summary = {
    kind: 'summary', total_time_secs: 1, sample_count: 1, max_processes: 1, max_threads: 1, peak_mem_rss_kb: 0, avg_cpu_usage: 0,
    peak_cpu_usage: 0, total_cpu_time_secs: 0, total_disk_read_bytes: 0, total_disk_write_bytes: 0, total_syscall_read_bytes: 0, total_syscall_write_bytes: 0,
    ebpf: {
      syscalls: { total: 300, by_category: {}, top_syscalls: [], analysis: { behavior_classification: 'mixed' }, table: rows },
      losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0, syscalls_untimed: 5 },
      filter: { trace: ['file'], failed_only: true },
    },
  } as unknown as SummaryRecord;
  const text = formatSummaryTable(summary, { color: false });
  assert.match(text, /Filtered\s+only file \(--trace\); failed calls only \(--failed-only\)/);
  assert.match(text, /Not timed\s+5 syscalls/);
  assert.match(text, /Syscalls \(top 10 of 14 by time; all: denet-pure stats --syscalls FILE\)/);
  assert.match(text, /sys13\n/);
  assert.match(text, /\(4 more\)/);
  assert.not.match(text, /sys3\n/);
});

test('the per-process table', () => {
  const text = formatProcessTable([{ pid: 10, ppid: 1, comm: 'make', total: 900, errors: 3, by_syscall: { read: 500, write: 300, close: 90, open: 10 } }], { color: false });
  assert.match(text, /^\s*pid\s+ppid\s+calls\s+errors\s+comm\s+top syscalls\n/);
  assert.match(text, /10\s+1\s+900\s+3\s+make\s+read 500, write 300, close 90\n$/);
});

test('CSV: the window\'s errors and time columns when the samples have them', () => {
  const block = (errors?: number) => ({
    syscalls: { total: 5, by_category: {}, top_syscalls: [], analysis: {}, window: { duration_ms: 100, total: 5, rate_per_sec: 50, by_category: {}, top_syscalls: [], by_syscall: {}, ...(errors === undefined ? {} : { errors, time_us: 77 }) } },
    losses: {},
  });
  const csv = recordsToCsv([sampleRecord(1, 0, { ebpf: block(2) as never }), sampleRecord(2, 0, { ebpf: block(0) as never })]).split('\r\n');
  const head = csv[0]!.split(',');
  assert.equal(head.slice(-2), ['syscalls_errors_window', 'syscalls_time_us_window']);
  assert.equal(csv[1]!.split(',').slice(-2), ['2', '77']);
  assert.not.ok(recordsToCsv([sampleRecord(1, 0, { ebpf: block() as never })]).includes('errors_window'), 'not for --count-only files');
});

// `stats` views through the CLI, on files written here.
const dir = mkdtempSync(join(tmpdir(), 'denet-views-'));
function file(name: string, summaryEbpf: object | undefined): string {
  const path = join(dir, name);
  const summary = { ...sampleRecord(1, 0), kind: 'summary', total_time_secs: 1, sample_count: 1, max_processes: 1, max_threads: 1, peak_mem_rss_kb: 0,
    avg_cpu_usage: 0, peak_cpu_usage: 0, total_cpu_time_secs: 0, total_disk_read_bytes: 0, total_disk_write_bytes: 0, total_syscall_read_bytes: 0,
    total_syscall_write_bytes: 0, ...(summaryEbpf ? { ebpf: summaryEbpf } : {}) };
  writeFileSync(path, [JSON.stringify(sampleRecord(1, 0)), JSON.stringify(summary)].join('\n') + '\n');
  return path;
}
const detailFile = file('detail.jsonl', {
  syscalls: { total: 152, by_category: {}, top_syscalls: [], analysis: { behavior_classification: 'mixed' }, by_syscall: { read: 100, close: 40, openat: 10, nanosleep: 2 }, table: ROWS },
  losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 },
  by_process: [{ pid: 10, ppid: 1, comm: 'app', total: 152, errors: 48, by_syscall: { read: 100, close: 40 } }],
  by_thread: [{ tid: 10, pid: 10, comm: 'app', total: 150, by_syscall: { read: 100 } }, { tid: 11, pid: 10, comm: 'app, worker', total: 2, by_syscall: { nanosleep: 2 } }],
  filter: { failed_only: true },
});
const countFile = file('count.jsonl', {
  syscalls: { total: 3, by_category: {}, top_syscalls: [], analysis: { behavior_classification: 'unknown' }, by_syscall: { read: 2, write: 1 } },
  losses: { syscalls_uncounted: 0, processes_untracked: 0, exits_unrecorded: 0 },
});
const plainFile = file('plain.jsonl', undefined);

test('stats --syscalls: every row, --sort, JSON and CSV; a --count-only file gives calls and says so', () => {
  const t = runCli(['stats', '--syscalls', '--sort', 'errors', detailFile]);
  assert.is(t.code, 0, t.stderr);
  const names = t.stdout.split('\n').filter((l) => /^\s*\d/.test(l)).map((l) => l.trim().split(/\s+/).at(-1));
  assert.ok(t.stdout.startsWith('filtered: failed calls only (--failed-only)\n'));
  assert.match(t.stdout, /close\s+ENOENT 40/);
  assert.ok(names.includes('nanosleep'), 'all rows: no limit');
  const json = JSON.parse(runCli(['stats', '--syscalls', '--sort', 'time', '--json', detailFile]).stdout) as SyscallRow[];
  assert.equal(json.map((r) => r.name), ['nanosleep', 'openat', 'read', 'close']);
  const csv = runCli(['stats', '--syscalls', '--format', 'csv', detailFile]).stdout.split('\r\n');
  assert.is(csv[0], 'name,calls,errors,errnos,total_us,avg_us,max_us,unfinished,hist_log2_us');
  assert.is(csv[1], 'read,100,0,,50,0.5,50,0,100');
  const counted = runCli(['stats', '--syscalls', countFile]);
  assert.is(counted.code, 0);
  assert.match(counted.stdout, /^calls only: this run was counted with --count-only/);
  assert.match(counted.stdout, /\s2\s+read\s*\n/);
});

test('stats --by-process and --by-thread; CSV quoting; what a file lacks is one line', () => {
  assert.match(runCli(['stats', '--by-process', detailFile]).stdout, /10\s+1\s+152\s+48\s+app\s+read 100, close 40/);
  const threads = runCli(['stats', '--by-thread', '--format', 'csv', detailFile]).stdout.split('\r\n');
  assert.equal(threads.slice(0, 3), ['tid,pid,comm,total,by_syscall', '10,10,app,150,read:100', '11,10,"app, worker",2,nanosleep:2']);
  for (const [args, msg] of [
    [['--by-thread', countFile], /no per-thread table \(run with --per-thread\)/],
    [['--syscalls', plainFile], /no syscall counts/],
    [['--syscalls', '--by-process', detailFile], /separate views/],
    [['--sort', 'time', detailFile], /--sort orders the rows of --syscalls/],
    [['--syscalls', '--sort', 'name', detailFile], /invalid --sort 'name'/],
  ] as [string[], RegExp][]) {
    const r = runCli(['stats', ...args]);
    assert.ok(r.code === 1 || r.code === 2, `${args.join(' ')}: ${r.code}`);
    assert.match(r.stderr, msg);
    assert.is(r.stderr.trim().split('\n').length, 1);
    assert.is(r.stdout, '');
  }
});

test.run();

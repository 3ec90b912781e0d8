// diff: reading runs (JSON Lines, summaries, files cut short), comparing them, limits and noise, the
// command's exit codes and one-line errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffRuns, loadRun, parseLimits, LimitSyntaxError, RunFileError, type RunData } from '../src/policy/index.js';
import { parseJsonLines, summarizeRecords } from '../src/monitor/index.js';
import { runCli } from './_lib/cli.js';
import { runLines, writeRun, type FakeRun } from './_lib/runs.js';
import { scratchDir } from './_lib/workloads.js';

const test = suite('policy: diff');

const run = (r: FakeRun, source = 'x.jsonl'): RunData => loadRun(runLines(r).join('\n') + '\n', source);
const BASE: FakeRun = { counts: { getppid: 1000, read: 300, openat: 40, close: 40, futex: 3, mmap: 20 } };
const keys = (d: ReturnType<typeof diffRuns>) => d.breaches.map((b) => b.key);

test('the same counts pass any limit, 0% included', () => {
  const d = diffRuns(run(BASE), run(BASE), parseLimits(['0%']));
  assert.equal(d.breaches, []);
  assert.ok(d.syscalls.every((c) => c.status === 'same'));
  assert.is(d.metrics.find((m) => m.key === 'syscalls')!.base, 1403);
});

test('doubled work: the syscalls that grew are named, with the total and their category; the rest are not', () => {
  const head = { counts: { ...BASE.counts, getppid: 2000, read: 600 } };
  const d = diffRuns(run(BASE), run(head), parseLimits(['10%']));
  assert.equal(keys(d).sort(), ['category:file_io', 'category:process', 'syscall:getppid', 'syscall:read', 'syscalls']);
  const getppid = d.syscalls.find((c) => c.key === 'syscall:getppid')!;
  assert.equal([getppid.base, getppid.head, getppid.delta, getppid.pct, getppid.status], [1000, 2000, 1000, 100, 'up']);
  assert.match(d.breaches.find((b) => b.key === 'syscall:getppid')!.text, 'syscall:getppid +100.0% > 10% (1,000 → 2,000)');
  assert.is(d.syscalls[0]!.key, 'syscall:getppid', 'largest change first');
});

test('noise: tiny counts and small changes never pass a percentage; new syscalls do once large enough; gone never fails', () => {
  const head = { counts: { ...BASE.counts, futex: 6, socket: 3, bind: 25, mmap: 0 } };
  const d = diffRuns(run(BASE), run(head), parseLimits(['10%']));
  assert.equal(keys(d), ['category:network', 'syscall:bind'], 'futex 3→6 (+100%) is under --min-count; socket (new, 3) too; mmap gone');
  const s = (k: string) => d.syscalls.find((c) => c.key === `syscall:${k}`)!;
  assert.is(s('bind').status, 'new');
  assert.is(s('bind').pct, null);
  assert.is(s('mmap').status, 'gone');
  // Lower thresholds catch them.
  const strict = diffRuns(run(BASE), run(head), parseLimits(['10%']), { minCount: 1, minChange: 1 });
  assert.equal(keys(strict).filter((k) => k.startsWith('syscall:')).sort(), ['syscall:bind', 'syscall:futex', 'syscall:socket']);
  // An absolute limit ignores the noise floors: it is one.
  const abs = diffRuns(run(BASE), run(head), parseLimits(['syscall:futex=+2']));
  assert.equal(keys(abs), ['syscall:futex']);
});

test('the most specific limit applies: own > syscall:* > the bare default', () => {
  const head = { counts: { ...BASE.counts, getppid: 2000, read: 330 } };
  const d = diffRuns(run(BASE), run(head), parseLimits(['5%', 'syscall:*=50%,syscall:getppid=150%']));
  assert.equal(keys(d).sort(), ['category:file_io', 'category:process', 'syscalls'], 'read +10% < 50%, getppid +100% < 150%; the total and categories use 5%');
  const later = diffRuns(run(BASE), run(head), parseLimits(['syscall:read=50%', 'syscall:read=5%']));
  assert.equal(keys(later), ['syscall:read'], 'a later value for the same figure wins');
});

test('processes are counted: a bare limit applies; an older file without the count is skipped', () => {
  const d = diffRuns(run({ ...BASE, processes: 3 }), run({ ...BASE, processes: 30 }), parseLimits(['10%']));
  assert.equal(keys(d), ['processes']);
  assert.equal(keys(diffRuns(run({ ...BASE, processes: 3 }), run({ ...BASE, processes: 6 }), parseLimits(['10%']))), [], 'under --min-count');
  assert.equal(keys(diffRuns(run(BASE), run({ ...BASE, processes: 30 }), parseLimits(['10%']))), []);
});

test('times and sizes: only when named, and above their noise floor', () => {
  const base = run({ ...BASE, wall: 1, cpu: 0.5, rssKb: 10_000 });
  const head = run({ ...BASE, wall: 3, cpu: 0.55, rssKb: 30_000 });
  assert.equal(keys(diffRuns(base, head, parseLimits(['10%']))), [], 'a bare limit does not apply to times and sizes');
  const d = diffRuns(base, head, parseLimits(['wall=10%,cpu=5%,rss=10%']));
  assert.equal(keys(d), ['wall', 'rss'], 'cpu grew 10% but by 0.05 s, under the 0.1 s floor');
});

test('errors and time in syscalls come from the per-syscall table when the run has one', () => {
  const table = (errors: number, us: number) => ({ table: [{ name: 'openat', calls: 40, errors, errnos: { ENOENT: errors }, total_us: us, avg_us: us / 40, max_us: 9, hist_log2_us: [] }], errors: { total: errors } });
  const base = run({ ...BASE, extraSyscalls: table(10, 5000) });
  const head = run({ ...BASE, extraSyscalls: table(30, 9000) });
  assert.is(base.errorsTotal, 10);
  assert.is(base.syscallTimeUs, 5000);
  assert.equal(base.syscalls!.get('openat'), { calls: 40, errors: 10, total_us: 5000 });
  assert.equal(keys(diffRuns(base, head, parseLimits(['10%']))), ['errors'], 'errors are counted: the bare limit applies');
  assert.equal(keys(diffRuns(base, head, parseLimits(['syscall_time=50%']))), ['syscall_time']);
  // Without a table, errors are not recorded: a bare limit skips them, a named one cannot check.
  assert.equal(keys(diffRuns(run(BASE), run(BASE), parseLimits(['10%']))), []);
  const named = diffRuns(run(BASE), run(BASE), parseLimits(['errors=10%']));
  assert.equal(named.breaches.map((b) => b.text), ['errors: cannot check 10%: x.jsonl and x.jsonl: no syscall errors recorded']);
});

test('a run without eBPF: syscalls cannot be compared, and a named limit on them fails saying why', () => {
  const d = diffRuns(run({ ...BASE, noEbpf: true }, 'plain.jsonl'), run(BASE), parseLimits(['syscalls=5%']));
  assert.equal(d.breaches.map((b) => b.text), ['syscalls: cannot check 5%: plain.jsonl: no syscall counts (record with --enable-ebpf)']);
  assert.ok(d.syscalls.every((c) => c.status === 'unknown'));
});

test('a file without its summary line is summarized again from its samples, like stats does', () => {
  const cut = runLines({ ...BASE, noSummary: true, samples: 4 });
  const r = loadRun(cut.join('\n') + '\n', 'cut.jsonl');
  assert.is(r.origin, 'rebuilt');
  assert.equal(r.summary, { ...summarizeRecords(parseJsonLines(cut.join('\n')).records), ebpf: r.summary.ebpf });
  assert.is(r.syscallTotal, 1403, 'the last sample is cumulative: totals are whole');
  assert.ok(r.syscallsPartial);
  // A syscall the last sample does not list is unknown, not 0: never "new", never a breach.
  const d = diffRuns(r, run({ counts: { ...BASE.counts, mmap: 2000 } }), parseLimits(['10%']));
  assert.is(d.syscalls.find((c) => c.key === 'syscall:getppid')!.status, 'same');
  assert.ok(d.notes.some((n) => /cut\.jsonl: the summary line is missing/.test(n)));
});

test('file kinds: pretty and one-line summaries, JSON Lines; bad files get one line naming the problem', () => {
  const summary = JSON.parse(runLines(BASE).at(-1)!);
  const pretty = loadRun(JSON.stringify(summary, null, 2) + '\n', 's.json');
  assert.is(pretty.origin, 'summary-file');
  assert.is(pretty.syscalls!.get('getppid')!.calls, 1000);
  assert.is(loadRun(JSON.stringify(summary) + '\n', 's1.json').origin, 'summary-file');
  assert.is(loadRun(runLines({ ...BASE, arch: 'x86_64' }).join('\n'), 'r.jsonl').arch, 'x86_64');
  const bad: Array<[string, RegExp]> = [
    ['', /^f is empty; expected JSON Lines written by denet-pure --out, or a summary written by --stats$/],
    ['hello\nworld\n', /^f is not denet-pure JSON Lines \(line 1: invalid JSON/],
    ['[1, 2]', /^f holds a JSON array, not a denet-pure record/],
    ['{\n "kind": "metadata"\n}', /^f holds a JSON record of kind 'metadata', not a summary/],
    ['{"kind":"banana"}', /^f is not denet-pure JSON Lines \(line 1: unknown kind "banana"\)/],
    [runLines(BASE)[0]!, /^f holds no summary and no samples \(only metadata\): the run ended before its first sample/],
  ];
  for (const [text, re] of bad) {
    try {
      loadRun(text, 'f');
      assert.unreachable(re.source);
    } catch (err) {
      assert.instance(err, RunFileError);
      assert.match((err as Error).message, re);
      assert.not.match((err as Error).message, /\n/);
    }
  }
  const torn = [...runLines(BASE).slice(0, -1), '{"kind":"summ'].join('\n');
  const r = loadRun(torn, 't');
  assert.is(r.origin, 'rebuilt', 'a torn summary line is a missing one');
  assert.equal(r.skipped?.count, 1);
});

test('limit syntax errors are typed and say what is expected', () => {
  const cases: Array<[string, RegExp]> = [
    ['ten', /invalid --max-increase value 'ten': expected a percentage \(10%\) or an absolute increase \(\+100\)/],
    ['memory=5%', /unknown figure 'memory' in --max-increase \(expected wall, cpu, rss, read, write, processes, syscalls, errors, syscall_time/],
    ['category:disk=5%', /unknown category 'disk'/],
    ['syscall:Open At=5%', /is not a syscall name/],
    ['5%,,rss=1%', /empty element/],
    ['rss=-5%', /invalid --max-increase value '-5%' for rss/],
  ];
  for (const [spec, re] of cases) assert.throws(() => parseLimits([spec]), (e: Error) => e instanceof LimitSyntaxError && re.test(e.message));
  assert.equal(parseLimits(['syscall:ia32:read=7']), [{ key: 'syscall:ia32:read', pct: 7, text: '7%' }]);
});

const cliTest = suite('policy: diff command');

cliTest('exit 0 with no limit passed, 1 naming every one passed; --json carries the same', () => {
  const a = writeRun(BASE);
  const b = writeRun({ counts: { ...BASE.counts, getppid: 2000 } });
  const same = runCli(['diff', a, a, '--max-increase', '10%']);
  assert.is(same.code, 0, same.stderr);
  assert.match(same.stdout, /^base  .*\(summary line\)\nhead  /);
  assert.is(same.stderr, '');
  const grew = runCli(['diff', a, b, '--max-increase', '10%']);
  assert.is(grew.code, 1);
  assert.match(grew.stdout, /getppid\s+1,000\s+2,000\s+\+1,000\s+\+100\.0%\s+<- limit passed/);
  assert.match(grew.stderr, /^denet-pure: diff: 3 limits passed: syscalls \+71\.3% > 10% .*syscall:getppid \+100\.0% > 10%/);
  assert.is(grew.stderr.split('\n').length, 2, 'one line');
  const json = runCli(['diff', a, b, '--json', '--max-increase', 'syscall:getppid=+999']);
  assert.is(json.code, 1);
  const o = JSON.parse(json.stdout);
  assert.is(o.ok, false);
  assert.equal(o.breaches.map((x: { key: string }) => x.key), ['syscall:getppid']);
  assert.equal(o.limits, [{ key: 'syscall:getppid', abs: 999 }]);
  assert.equal(o.syscalls.find((s: { key: string }) => s.key === 'syscall:read'), { key: 'syscall:read', unit: 'calls', base: 300, head: 300, delta: 0, pct: 0, status: 'same' });
  // stdin for one side
  const piped = runCli(['diff', '-', b, '--max-increase', '10%'], { input: readFileSync(a, 'utf8') });
  assert.is(piped.code, 1);
  assert.match(piped.stdout, /^base  stdin \(summary line\)/);
});

cliTest('a cut-short file is rebuilt and diff says so on stderr', () => {
  const a = writeRun(BASE);
  const cut = writeRun({ ...BASE, noSummary: true });
  const r = runCli(['diff', a, cut]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /no summary line \(the run was cut short\); summary rebuilt from its 3 samples, per-syscall counts only for the most frequent syscalls/);
  assert.match(r.stdout, /head  .*\(summary line missing: rebuilt from 3 samples/);
});

cliTest('a large cut-short file (50,000 samples, a torn last line) is read in reasonable time', () => {
  const lines = runLines({ ...BASE, noSummary: true, samples: 50_000 });
  const big = writeRun(lines.join('\n') + '\n{"kind":"tree","ts_ms":1');
  const r = runCli(['diff', big, big, '--json'], { timeout: 60_000 });
  assert.is(r.code, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).head.samples, 50_000);
  assert.match(r.stderr, /1 line skipped \(line 50002: invalid JSON/);
});

cliTest('usage errors exit 2 with one line; unusable files exit 1 with one line', () => {
  const a = writeRun(BASE);
  const dir = join(scratchDir(), 'a-dir');
  mkdirSync(dir, { recursive: true });
  const usage: Array<[string[], RegExp]> = [
    [['diff', a], /diff needs two runs, e.g. denet-pure diff base\.jsonl head\.jsonl/],
    [['diff', a, a, a], /diff takes two runs, got 3/],
    [['diff', a, a, '--max-increase', 'lots'], /invalid --max-increase value 'lots'/],
    [['diff', a, a, '--min-count', '-1'], /option --min-count needs a value|invalid --min-count/],
    [['diff', a, a, '--min-change', 'x'], /invalid --min-change 'x'/],
    [['diff', '-', '-'], /only one of BASE and HEAD can be '-'/],
    [['diff', a, a, '--frob'], /unknown option '--frob'/],
  ];
  for (const [args, re] of usage) {
    const r = runCli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  const bad: Array<[string, RegExp]> = [
    [join(scratchDir(), 'missing.jsonl'), /cannot read .*missing\.jsonl: no such file/],
    [dir, /cannot read .*a-dir: it is a directory/],
    [writeRun('not json\n'), /is not denet-pure JSON Lines \(line 1: invalid JSON/],
    [writeRun(runLines(BASE)[0]! + '\n'), /holds no summary and no samples \(only metadata\)/],
  ];
  for (const [file, re] of bad) {
    const r = runCli(['diff', a, file]);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.is(r.stdout, '');
  }
});

cliTest('--help teaches the limits and the noise rules', () => {
  const r = runCli(['diff', '--help']);
  assert.is(r.code, 0);
  for (const s of ['--max-increase', 'syscall:openat=20%', '--min-count', '"new"', 'Exit: 0']) assert.ok(r.stdout.includes(s), s);
});

test.run();
cliTest.run();

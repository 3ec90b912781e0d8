// Monitoring through the real CLI: exit codes, the JSON Lines stream, `stats` reproducing the
// summary, signals, --duration, attach, and the human output's shape off a terminal.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV, readRecords, runCli, type Rec } from './_lib/cli.js';
import { alive, sleep, waitFor } from './_lib/wait.js';
import { hasCommand } from './_lib/workloads.js';

const dir = mkdtempSync(join(tmpdir(), 'denet-run-'));
const ENV = CLI_ENV;

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env, timeout: 30_000 });
}

const Exit = suite('cli run: exit codes');

Exit('run exits with the command exit code', () => {
  assert.is(cli(['-q', 'run', '--', 'sh', '-c', 'exit 3']).code, 3);
  assert.is(cli(['-q', 'run', '--', 'true']).code, 0);
  assert.is(cli(['-q', 'run', 'false']).code, 1);
});

Exit('a command killed by a signal gives 128+signal', () => {
  const k9 = cli(['-q', 'run', '--', 'sh', '-c', 'kill -9 $$']);
  assert.is(k9.code, 137, k9.stderr);
  const term = cli(['-q', 'run', '--', 'sh', '-c', 'kill -TERM $$']);
  assert.is(term.code, 143, term.stderr);
});

Exit.run();

const Records = suite('cli run: records');
const out = join(dir, 'run.jsonl');
const statsFile = join(dir, 'run.summary.json');
let records: Rec[] = [];

Records.before(() => {
  const r = cli(['--out', out, '--stats', statsFile, '-i', '50', '-q', 'run', '--', 'sh', '-c', 'sleep 0.3 & sleep 0.5; wait']);
  assert.is(r.code, 0, r.stderr);
  records = readRecords(out);
});

Records('every line parses and has a kind; metadata first, summary last, tree and process records between', () => {
  assert.ok(records.length >= 4, `${records.length} records`);
  for (const rec of records) assert.type(rec.kind, 'string');
  assert.is(records[0]!.kind, 'metadata');
  assert.is(records[records.length - 1]!.kind, 'summary');
  const middle = records.slice(1, -1);
  assert.ok(middle.filter((r) => r.kind === 'tree').length >= 2);
  for (const rec of middle) assert.ok(rec.kind === 'tree' || rec.kind === 'process', rec.kind);
  // Each process of the tree once (sh and its two sleeps), after its last sample.
  const procs = middle.filter((r) => r.kind === 'process');
  assert.is(new Set(procs.map((p) => p.pid)).size, procs.length, 'no process twice');
  assert.ok(procs.length >= 2, `${procs.length} process records`);
});

Records('metadata names the command, its absolute executable and the capabilities', () => {
  const m = records[0]!;
  assert.equal(m.cmd, ['sh', '-c', 'sleep 0.3 & sleep 0.5; wait']);
  assert.ok(isAbsolute(m.executable), m.executable);
  assert.ok(m.executable.endsWith('/sh'), m.executable);
  assert.type(m.pid, 'number');
  assert.type(m.t0_ms, 'number');
  assert.type(m.version, 'string');
  assert.is(m.capabilities.ebpf.available, false);
  const tree = records.find((r) => r.kind === 'tree')!;
  assert.is(m.pid, tree.parent?.pid ?? m.pid);
});

Records('the summary counts the samples written', () => {
  const summary = records[records.length - 1]!;
  assert.is(summary.sample_count, records.filter((r) => r.kind === 'tree').length);
});

Records('stats --json on the output reproduces the summary record exactly; --stats wrote the same', () => {
  const summary = records[records.length - 1]!;
  const r = cli(['stats', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), summary);
  assert.equal(JSON.parse(cli(['--json', 'stats', out]).stdout), summary);
  assert.equal(JSON.parse(readFileSync(statsFile, 'utf8')), summary);
});

Records('stats prints a table by default and CSV rows with --format csv', () => {
  const table = cli(['stats', out]);
  assert.is(table.code, 0);
  assert.ok(table.stdout.trim().length > 0);
  assert.not.ok(table.stdout.trimStart().startsWith('{'), 'not JSON');
  const csv = cli(['stats', out, '--format', 'csv']);
  assert.is(csv.code, 0, csv.stderr);
  const rows = csv.stdout.trim().split('\n');
  assert.is(rows.length, 1 + records.filter((r) => r.kind === 'tree').length, 'a header and one row per sample');
  assert.ok(rows[0]!.includes(','));
});

Records.run();

const Stats = suite('cli stats: input problems');

Stats('corrupt lines are reported with their numbers and skipped', async () => {
  const { writeFileSync } = await import('node:fs');
  const text = readFileSync(out, 'utf8').split('\n');
  text.splice(2, 0, '{"kind":"tree", broken');
  text.splice(4, 0, 'not json at all');
  const bad = join(dir, 'corrupt.jsonl');
  writeFileSync(bad, text.join('\n'));
  const r = cli(['stats', bad, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /:3:/);
  assert.match(r.stderr, /:5:/);
  assert.is(r.stderr.trim().split('\n').length, 2);
  assert.is(JSON.parse(r.stdout).kind, 'summary');
});

Stats('a missing file is one line and exit 1; a bad format is exit 2', () => {
  const r = cli(['stats', join(dir, 'missing.jsonl')]);
  assert.is(r.code, 1);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /missing\.jsonl/);
  assert.is(cli(['stats', out, '--format', 'xml']).code, 2);
  assert.is(cli(['stats']).code, 2);
});

Stats.run();

const Modes = suite('cli run: modes');

Modes('--exclude-children gives sample records', () => {
  const f = join(dir, 'excl.jsonl');
  const r = cli(['--out', f, '--exclude-children', '-i', '50', '-q', 'run', '--', 'sleep', '0.3']);
  assert.is(r.code, 0, r.stderr);
  const recs = readRecords(f);
  const kinds = new Set(recs.slice(1, -1).map((x) => x.kind).filter((k) => k !== 'process'));
  assert.equal([...kinds], ['sample']);
  assert.equal(recs.filter((x) => x.kind === 'process').map((x) => x.command), ['sleep 0.3'], 'the process alone');
  assert.ok(recs.length >= 3);
});

Modes('--json writes records on stdout, human output stays on stderr', () => {
  const r = cli(['--json', '-i', '50', 'run', '--', 'sleep', '0.3']);
  assert.is(r.code, 0, r.stderr);
  const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Rec);
  assert.is(recs[0]!.kind, 'metadata');
  assert.is(recs[recs.length - 1]!.kind, 'summary');
  assert.ok(r.stderr.length > 0, 'progress and summary on stderr');
});

Modes('--write-env puts an env record first', () => {
  const f = join(dir, 'env.jsonl');
  assert.is(cli(['--out', f, '--write-env', '-q', 'run', '--', 'true']).code, 0);
  const recs = readRecords(f);
  assert.is(recs[0]!.kind, 'env');
  assert.is(recs[1]!.kind, 'metadata');
});

Modes('off a terminal: plain lines, no colour, no in-place updates; -q silences them', () => {
  const r = cli(['-i', '50', 'run', '--', 'sleep', '0.3']);
  assert.is(r.code, 0);
  assert.ok(r.stderr.trim().split('\n').length >= 2, r.stderr);
  assert.not.match(r.stderr, /\r/);
  assert.not.match(r.stderr, /\x1b\[/);
  assert.is(r.stdout, '');
  assert.is(cli(['-q', 'run', '--', 'sleep', '0.1']).stderr, '');
});

const hasScript = hasCommand('script');

/** Runs the CLI on a pseudo-terminal (util-linux script), returning what the terminal showed. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv = {}) {
  const line = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', line, '/dev/null'], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 30_000 });
  return { code: r.status, screen: r.stdout };
}

const COLOUR = /\x1b\[[0-9;]*m/;

const TERMINAL_TEST = 'on a terminal: one line updated in place, colours; NO_COLOR and --no-update respected';
if (!hasScript) console.log(`  [skip] ${TERMINAL_TEST}: no script(1) here (util-linux)`);
(hasScript ? Modes : Modes.skip)(TERMINAL_TEST, () => {
  const live = onTerminal(['-i', '50', 'run', '--', 'sleep', '0.3']);
  assert.is(live.code, 0);
  assert.ok((live.screen.match(/\r[^\n]*?\x1b\[K/g) ?? []).length >= 2, 'the line is rewritten in place');
  assert.match(live.screen, COLOUR);
  const plain = onTerminal(['-i', '50', 'run', '--', 'sleep', '0.3'], { NO_COLOR: '1' });
  assert.not.match(plain.screen, COLOUR);
  const noUpdate = onTerminal(['-n', '-i', '50', 'run', '--', 'sleep', '0.3']);
  assert.not.match(noUpdate.screen, /\x1b\[K/);
  assert.ok(noUpdate.screen.trim().split('\n').length >= 3);
  assert.is(onTerminal(['-q', 'run', '--', 'sh', '-c', 'exit 4']).code, 4);
});

Modes('--duration stops monitoring and leaves the command running; --kill-on-duration ends it', async () => {
  const pidFile = join(dir, 'dur.pid');
  const f = join(dir, 'dur.jsonl');
  const t = Date.now();
  // Not spawnSync: it would wait for the still-running command to close the inherited pipes.
  const mon = spawn(process.execPath, [CLI, '--out', f, '-q', '-d', '0.4', 'run', '--', 'sh', '-c', `echo $$ > '${pidFile}'; exec sleep 60`], { env: ENV, stdio: 'ignore' });
  const code = await new Promise<number | null>((r) => mon.on('exit', (c) => r(c)));
  assert.is(code, 0);
  assert.ok(Date.now() - t < 30_000, 'did not wait for the command');
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(alive(pid), 'the command is still running');
  process.kill(pid, 'SIGKILL');
  assert.is(readRecords(f).at(-1)!.kind, 'summary');

  const k = cli(['-q', '-d', '0.3', '--kill-on-duration', 'run', '--', 'sh', '-c', `echo $$ > '${pidFile}'; exec sleep 60`]);
  assert.is(k.code, 143);
  await sleep(50);
  assert.not.ok(alive(Number(readFileSync(pidFile, 'utf8'))));
});

Modes.run();

const Signals = suite('cli: signals and attach');

Signals('SIGINT mid-run: forwarded, summary written, last line complete', async () => {
  const f = join(dir, 'sigint.jsonl');
  const child = spawn(process.execPath, [CLI, '--out', f, '-q', '-i', '50', 'run', '--', 'sleep', '60'], { env: ENV, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => existsSync(f) && readFileSync(f, 'utf8').split('\n').length >= 3);
  const t = Date.now();
  child.kill('SIGINT');
  const code = await exited;
  assert.ok(Date.now() - t < 30_000, 'did not wait for sleep 60');
  assert.is(code, 130, 'sleep died of the forwarded SIGINT');
  const recs = readRecords(f);
  assert.is(recs.at(-1)!.kind, 'summary');
});

Signals('attach: SIGTERM stops monitoring, writes the summary, leaves the process alone', async () => {
  const target = spawn('sleep', ['30'], { stdio: 'ignore' });
  const f = join(dir, 'attach.jsonl');
  try {
    const mon = spawn(process.execPath, [CLI, '--out', f, '-q', '-i', '50', 'attach', String(target.pid)], { env: ENV, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => mon.on('exit', (code) => r(code)));
    await waitFor(() => existsSync(f) && readFileSync(f, 'utf8').split('\n').length >= 3);
    mon.kill('SIGTERM');
    assert.is(await exited, 143);
    const recs = readRecords(f);
    assert.is(recs[0]!.kind, 'metadata');
    assert.is(recs[0]!.pid, target.pid);
    assert.is(recs.at(-1)!.kind, 'summary');
    assert.ok(alive(target.pid!), 'the attached process was not signalled');
  } finally {
    target.kill('SIGKILL');
  }
});

Signals('attach to a process that exits ends normally with a summary', async () => {
  // The target exits when told to, once the monitor has attached (however long its start takes).
  const target = spawn('sh', ['-c', 'read go; sleep 0.1'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const f = join(dir, 'attach-exit.jsonl');
  // Asynchronously, so that this process reaps the target when it exits (no lingering zombie).
  const mon = spawn(process.execPath, [CLI, '--out', f, '-q', '-i', '50', 'attach', String(target.pid)], { env: ENV, stdio: 'ignore' });
  const code = new Promise<number | null>((r) => mon.on('exit', (c) => r(c)));
  await waitFor(() => existsSync(f) && readFileSync(f, 'utf8').includes('"kind":"tree"'), 30_000);
  target.stdin.end('go\n');
  assert.is(await code, 0);
  const recs = readRecords(f);
  assert.is(recs.at(-1)!.kind, 'summary');
  assert.ok(recs.some((x) => x.kind === 'tree'));
});

Signals.run();

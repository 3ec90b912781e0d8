// Shared helpers for tests that run real workloads: compiling the C fixtures, running strace,
// waiting for children.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
/** The CLI as users run it: the bundle the package's bin points to. */
export const CLI = join(ROOT, 'dist/cli.mjs');

let scratch: string | undefined;
export function scratchDir(): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'denet-pure-test-'));
  return scratch;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Compiles test/fixtures/NAME.c once per run (with `flags` instead of -O1; -pthread unless -nostdlib)
 * as `as`; returns the binary's path.
 */
export function compileFixture(name: string, flags: string[] = ['-O1'], as = name): string {
  const out = join(scratchDir(), as);
  if (!existsSync(out)) {
    execFileSync('gcc', [...flags, ...(flags.includes('-nostdlib') ? [] : ['-pthread']), '-o', out, join(ROOT, 'test/fixtures', `${name}.c`)]);
  }
  return out;
}

/** Parses `strace -c -o FILE` output into syscall name -> calls. */
export function parseStraceSummary(file: string): Map<string, number> {
  return new Map([...parseStraceTable(file)].map(([name, row]) => [name, row.calls]));
}

export interface StraceRow {
  calls: number;
  errors: number;
  seconds: number;
}

/** Parses `strace -c -o FILE` output into syscall name -> {calls, errors, seconds}. */
export function parseStraceTable(file: string): Map<string, StraceRow> {
  const rows = new Map<string, StraceRow>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    // % time  seconds  usecs/call  calls  [errors]  syscall
    const m = /^\s*[\d.]+\s+([\d.]+)\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (m && m[4] !== 'total') rows.set(m[4]!, { calls: Number(m[2]), errors: Number(m[3] ?? 0), seconds: Number(m[1]) });
  }
  return rows;
}

/**
 * The files of `strace -ff -o PREFIX` (one per thread, PREFIX.TID): per thread its calls by name and
 * its failed calls, and its process (from the clone lines: CLONE_THREAD makes a thread of the caller's
 * process, anything else a new process).
 */
export function parseStraceFf(prefix: string): Map<number, { tgid: number; calls: Map<string, number>; errors: number }> {
  const dir = dirname(prefix);
  const base = prefix.slice(dir.length + 1);
  const files = readdirSync(dir).filter((f) => f.startsWith(`${base}.`)).map((f) => Number(f.slice(base.length + 1)));
  const out = new Map<number, { tgid: number; calls: Map<string, number>; errors: number }>();
  const parent = new Map<number, { of: number; thread: boolean }>();
  for (const tid of files) {
    const calls = new Map<string, number>();
    let errors = 0;
    for (const line of readFileSync(`${prefix}.${tid}`, 'utf8').split('\n')) {
      const m = /^([a-z_0-9]+)\(/.exec(line);
      if (!m) continue;
      calls.set(m[1]!, (calls.get(m[1]!) ?? 0) + 1);
      // strace pads the result to a column: "read(987, ..., 1)       = -1 EBADF (Bad file descriptor)".
      if (/\)\s+= (-1|\?) E[A-Z0-9_]+ /.test(line)) errors++;
      const child = /^(clone3?|fork|vfork)\(.*\)\s+= (\d+)$/.exec(line);
      if (child) parent.set(Number(child[2]), { of: tid, thread: /CLONE_THREAD/.test(line) });
    }
    out.set(tid, { tgid: 0, calls, errors });
  }
  const tgidOf = (tid: number): number => {
    const p = parent.get(tid);
    return p && p.thread ? tgidOf(p.of) : tid;
  };
  for (const [tid, t] of out) t.tgid = tgidOf(tid);
  return out;
}

export function exited(child: ChildProcess): Promise<number | null> {
  // Killed by a signal, it has no exit code but a signalCode: it has exited all the same.
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => res(code)));
}

/** Differences between two count tables, over the names of `expected`. */
export function countDiff(expected: Map<string, number>, actual: Map<string, number> | Record<string, number>, skip: string[] = []): string[] {
  const get = (n: string) => (actual instanceof Map ? actual.get(n) : actual[n]) ?? 0;
  const diffs: string[] = [];
  for (const [name, n] of expected) {
    if (skip.includes(name)) continue;
    if (get(name) !== n) diffs.push(`${name}: strace ${n}, ours ${get(name)}`);
  }
  return diffs;
}

/** A directory on a real block device (write_bytes is 0 on tmpfs): tmpdir, /var/tmp, or the tree's parent. */
export function blockBackedDir(): string {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pre, post] = l.split(' - ');
      return { point: pre!.split(' ')[4]!, fstype: post!.split(' ')[0]! };
    });
  const fsOf = (p: string) =>
    mounts.filter((m) => p === m.point || p.startsWith(m.point.endsWith('/') ? m.point : m.point + '/')).sort((a, b) => b.point.length - a.point.length)[0]?.fstype;
  for (const d of [tmpdir(), '/var/tmp', dirname(resolve('.'))]) {
    const t = fsOf(d);
    if (t && !['tmpfs', 'ramfs'].includes(t) && existsSync(d)) return d;
  }
  return tmpdir();
}

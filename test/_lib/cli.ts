// Running the built CLI from tests: one environment (no colours, no stack traces, whatever the caller's
// shell sets), one result shape, and a strict reader for the JSON Lines files it writes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { CLI } from './workloads.js';

export { CLI };

export const CLI_ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '', DENET_DEBUG: '' };

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Added to CLI_ENV. */
  env?: NodeJS.ProcessEnv;
  timeout?: number;
  /** A command that runs node for us (e.g. setpriv with its options and '--'). */
  prefix?: string[];
  /** Written to the CLI's stdin. */
  input?: string | Uint8Array;
}

/** Runs `node dist/cli.mjs ARGS` (the package's bin) to completion. */
export function runCli(args: string[], opts: CliRunOptions = {}): CliResult {
  const argv = [...(opts.prefix ?? []), process.execPath, CLI, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: { ...CLI_ENV, ...opts.env }, timeout: opts.timeout ?? 30_000, input: opts.input });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export type Rec = Record<string, any>;

/** Parses a JSON Lines file, failing the test on any line that is not a complete JSON object. */
export function readRecords(path: string): Rec[] {
  const text = readFileSync(path, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a complete line');
  return text.split('\n').slice(0, -1).map((l, i) => {
    try {
      return JSON.parse(l) as Rec;
    } catch {
      throw new assert.Assertion({ message: `line ${i + 1} is not JSON: ${l.slice(0, 80)}` } as never);
    }
  });
}

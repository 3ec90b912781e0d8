// V8 starts the young generation small and grows it step by step while a program allocates steadily,
// up to 16 MiB per semi-space: a long `attach` would show a rise of 10-30 MiB of RSS over its first
// minutes that is not retained data. Long-running monitors therefore run with a fixed young generation,
// set once by re-executing ourselves (same pid) with the V8 flags, before any work is done.
import { basename } from 'node:path';

/** MiB per semi-space: large enough that scavenges stay rare at our allocation rate. */
export const YOUNG_SEMI_SPACE_MIB = 4;
const FLAGS = [`--min-semi-space-size=${YOUNG_SEMI_SPACE_MIB}`, `--max-semi-space-size=${YOUNG_SEMI_SPACE_MIB}`];
/** Set to 0 to keep V8's default (growing) young generation. */
export const FIXED_YOUNG_ENV = 'DENET_PURE_FIXED_YOUNG';

/** Whether the young generation is already sized by a flag (ours, the user's, or NODE_OPTIONS). */
function sizedAlready(): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((f) => /^--(min|max)[-_]semi[-_]space[-_]size\b/.test(f));
}

/**
 * Re-executes the CLI with a fixed young generation when it is about to monitor for long (attach, or an
 * exporter) and nobody sized it. Returns only when it did not (or could not) re-execute.
 */
export async function fixYoungGeneration(longRunning: boolean): Promise<void> {
  if (!longRunning || process.env[FIXED_YOUNG_ENV] === '0' || sizedAlready()) return;
  const script = process.argv[1];
  // Only as the CLI script itself (not when embedded in another program through the library).
  if (script === undefined || !/^cli\.m?js$/.test(basename(script))) return;
  // Only stdio survives the re-execution: a file named by an inherited descriptor must stay as it is.
  if (process.argv.some((a) => /\/dev\/fd\/|\/proc\/(self|\d+)\/fd\//.test(a))) return;
  const { execImage } = await import('../loader/process.js');
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  // On failure (e.g. no execve under a sandbox) the monitor simply runs with V8's defaults.
  execImage(process.execPath, [process.argv0, ...process.execArgv, ...FLAGS, script, ...process.argv.slice(2)], env, [0, 1, 2]);
}

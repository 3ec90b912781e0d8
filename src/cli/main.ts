#!/usr/bin/env node
// Entry point: split off the global options, dispatch to a subcommand, turn expected failures into
// one line on stderr with their exit code.
import { COMMANDS, findCommand } from './commands/index.js';
import { EXIT, UsageError, toUserError } from './errors.js';
import { fixYoungGeneration } from './heap.js';
import { printHelp } from './help.js';
import { GLOBAL_OPTIONS, parseGlobalValues, splitAtPositional } from './options.js';
import { packageVersion } from '../monitor/package.js';

async function main(argv: string[]): Promise<number> {
  const split = splitAtPositional(argv, GLOBAL_OPTIONS);
  const globalValues = parseGlobalValues(split.opts);
  if (globalValues.help || split.word === 'help') return printHelp(), EXIT.OK;
  if (globalValues.version) {
    process.stdout.write(`denet-pure ${packageVersion()}\n`);
    return EXIT.OK;
  }
  const names = COMMANDS.map((c) => c.name).join(', ');
  if (split.word === undefined) {
    throw new UsageError(split.sawTerminator
      ? `missing subcommand before '--'; did you mean: denet-pure run -- ${split.rest.join(' ')}`
      : `missing subcommand (${names}); see denet-pure --help`);
  }
  const entry = findCommand(split.word);
  if (!entry) throw new UsageError(`unknown subcommand '${split.word}' (expected ${names}); see denet-pure --help`);
  // attach and exporters run for long; a plain `run` does not pay for the re-execution.
  const beforeCommand = split.rest.includes('--') ? split.rest.slice(0, split.rest.indexOf('--')) : split.rest;
  const exports = [...split.opts, ...beforeCommand].some((a) => a === '--prometheus' || a.startsWith('--prometheus='));
  await fixYoungGeneration(entry.name === 'attach' || (entry.name === 'run' && exports));
  const { command } = await entry.load();
  return command.run({ args: split.rest, globalValues, printHelp });
}

/** Exits once stdout/stderr have flushed, so a piped reader gets every byte. */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

function report(err: unknown): number {
  const debug = process.env.DENET_DEBUG === '1';
  const { line, exitCode, internal } = toUserError(err);
  if (line !== null) process.stderr.write(`denet-pure: ${line}${internal && !debug ? ' (DENET_DEBUG=1 for details)' : ''}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return exitCode;
}

main(process.argv.slice(2)).then(exitAfterFlush, (err) => exitAfterFlush(report(err)));

// Option parsing: the global (monitor) options, accepted before the subcommand as in denet and also
// between `run`/`attach` and the command. node:util parseArgs does the tokenizing; we turn its errors
// and our validation into one-line UsageErrors.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { selectSyscalls } from '../syscalls/index.js';
import { UsageError } from './errors.js';
import { parseListenAddress, type ListenAddress } from '../export/address.js';

type OptionTable = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  'enable-ebpf': { type: 'boolean' },
  'require-ebpf': { type: 'boolean' },
  'ebpf-attach': { type: 'string' },
  json: { type: 'boolean', short: 'j' },
  'max-processes': { type: 'string' },
  'max-counts': { type: 'string' },
  stacks: { type: 'string' },
  flamegraph: { type: 'string' },
  'stacks-every': { type: 'string' },
  'stacks-kernel': { type: 'boolean' },
  'stacks-max': { type: 'string' },
  'max-details': { type: 'string' },
  'count-only': { type: 'boolean' },
  'per-thread': { type: 'boolean' },
  trace: { type: 'string' },
  'failed-only': { type: 'boolean' },
  'no-off-cpu': { type: 'boolean' },
  'no-net': { type: 'boolean' },
  'stop-with-command': { type: 'boolean' },
  out: { type: 'string', short: 'o' },
  stats: { type: 'string' },
  report: { type: 'string' },
  interval: { type: 'string', short: 'i' },
  'max-interval': { type: 'string', short: 'm' },
  duration: { type: 'string', short: 'd' },
  'kill-on-duration': { type: 'boolean' },
  'no-update': { type: 'boolean', short: 'n' },
  quiet: { type: 'boolean', short: 'q' },
  'exclude-children': { type: 'boolean' },
  'since-process-start': { type: 'boolean' },
  'write-env': { type: 'boolean' },
  prometheus: { type: 'string' },
  'prometheus-target': { type: 'string' },
  cgroup: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies OptionTable;

export interface GlobalOptions {
  enableEbpf: boolean;
  requireEbpf: boolean;
  ebpfAttach: 'auto' | 'raw' | 'tracefs';
  /** Bounds of the kernel's tables (undefined: the tracer's defaults). */
  maxProcesses?: number;
  maxCounts?: number;
  /** Stack capture (--stacks FILE, --flamegraph FILE and their settings); undefined: off. */
  stacks?: StackCliOptions;
  maxDetails?: number;
  /** eBPF: the sys_enter program alone (no errors, no time): the lowest overhead. */
  countOnly: boolean;
  /** eBPF: calls per thread as well. */
  perThread: boolean;
  /** eBPF: only these categories and syscall names (validated). */
  trace?: string[];
  /** eBPF: only the calls that fail. */
  failedOnly: boolean;
  /** eBPF without the scheduler programs (off-CPU and run-queue time). */
  noOffCpu: boolean;
  /** eBPF without the socket programs (the tree's own network bytes). */
  noNet: boolean;
  /** run: end monitoring when the command exits, not when its whole tree has. */
  stopWithCommand: boolean;
  json: boolean;
  out?: string;
  stats?: string;
  /** run/attach: write the HTML report of the run to this file at the end. */
  report?: string;
  intervalMs: number;
  maxIntervalMs: number;
  /** Seconds; 0 = until the process exits. */
  durationSec: number;
  killOnDuration: boolean;
  noUpdate: boolean;
  quiet: boolean;
  excludeChildren: boolean;
  sinceProcessStart: boolean;
  writeEnv: boolean;
  /** Serve the records as Prometheus metrics on this address (docs/prometheus.md). */
  prometheus?: ListenAddress;
  /** The `target` label of the exported series (default: the command, process or cgroup). */
  prometheusTarget?: string;
  /** attach: every process of this cgroup v2 instead of a PID's tree. */
  cgroup?: string;
  help: boolean;
  version: boolean;
}

export interface StackCliOptions {
  /** Folded stacks file. */
  folded?: string;
  /** SVG flame graph file. */
  flamegraph?: string;
  /** Sample one syscall in N (per CPU). */
  every: number;
  kernel: boolean;
  /** Distinct stacks the kernel tables hold (undefined: the tracer's defaults). */
  max?: number;
}

type RawValues = Record<string, string | boolean | undefined>;

/** Runs parseArgs, converting its exceptions into one-line usage errors. */
export function parseStrict(args: string[], options: OptionTable, allowPositionals: boolean) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
}

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  const quoted = /'([^']+)'/.exec(msg)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${quoted ?? msg}'; see denet-pure --help for the options`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const long = /--([\w-]+)/.exec(msg)?.[1] ?? quoted;
      if (/argument missing/.test(msg)) return `option --${long} needs a value, e.g. --${long} VALUE`;
      if (/ambiguous/.test(msg)) return `option ${quoted} needs a value; for a value starting with '-' write --${long}=VALUE`;
      return `option --${long} takes no value`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument '${quoted ?? msg}'; see denet-pure --help`;
    default:
      return msg.split('\n')[0] ?? msg;
  }
}

/**
 * Splits argv at the first positional (the subcommand, or a command to run) or at `--`.
 * Returns the options before it, the positional itself (undefined after `--` or at the end) and the rest.
 */
export function splitAtPositional(argv: string[], options: OptionTable): { opts: string[]; word?: string; rest: string[]; sawTerminator: boolean } {
  // Non-strict so that unknown options do not throw here; the strict pass over `opts` reports them.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const stop = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  if (!stop) return { opts: argv, rest: [], sawTerminator: false };
  const opts = argv.slice(0, stop.index);
  if (stop.kind === 'option-terminator') return { opts, rest: argv.slice(stop.index + 1), sawTerminator: true };
  return { opts, word: argv[stop.index], rest: argv.slice(stop.index + 1), sawTerminator: false };
}

export function parseGlobalValues(args: string[]): RawValues {
  return parseStrict(args, GLOBAL_OPTIONS, false).values as RawValues;
}

/** Plain decimal notation only: Number() alone would also take '0x10', '1e3' and ' 5 '. */
const DECIMAL = /^(\d+\.?\d*|\.\d+)$/;

/** A number in [min, max] (plain decimal), or a usage error naming the allowed range. */
function numberIn(name: string, raw: string, unit: string, min: number, max: number, opts: { integer?: boolean; zero?: boolean } = {}): number {
  const v = DECIMAL.test(raw) ? Number(raw) : NaN;
  const ok = Number.isFinite(v) && ((opts.zero && v === 0) || (v >= min && v <= max)) && (!opts.integer || Number.isInteger(v));
  if (!ok) {
    const range = `from ${fmt(min)} to ${fmt(max)}${opts.zero ? ', or 0 for no limit' : ''}`;
    throw new UsageError(`invalid --${name} '${raw}': expected ${opts.integer ? 'a whole number' : 'a number'} of ${unit} ${range}`);
  }
  return v;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** Sampling more often than this measures the monitor more than the tree. */
export const MIN_INTERVAL_MS = 10;
/** A day: longer intervals say nothing a summary does not. */
export const MAX_INTERVAL_MS = 86_400_000;
/** Ten years, in seconds. */
export const MAX_DURATION_SEC = 315_360_000;
/** Bounds of the kernel tables (each entry costs memory: see docs/ebpf.md). */
export const MAX_TABLE = { processes: [64, 4_194_304], counts: [1024, 16_777_216], details: [256, 4_194_304], stacks: [256, 1_048_576] } as const;
/** --stacks-every: from every syscall to one in a billion. */
export const MAX_STACKS_EVERY = 1_000_000_000;
/** Stacks are taken at a syscall's entry, before anyone knows whether it fails. */
export const STACKS_FAILED_ONLY = '--failed-only counts calls at their return, but stacks are taken at their entry, before the result is known; drop one (--trace narrows stacks to chosen syscalls)';

/** --trace LIST: comma-separated categories and syscall names, each known on this architecture. */
function parseTrace(raw: string): string[] {
  const words = raw.split(',').map((w) => w.trim()).filter((w) => w !== '');
  if (words.length === 0) throw new UsageError(`--trace needs categories or syscall names, e.g. --trace file,network or --trace openat,read`);
  const { unknown } = selectSyscalls(words);
  if (unknown.length > 0) {
    throw new UsageError(`invalid --trace: ${unknown.map((w) => `'${w}'`).join(', ')} is neither a category (file, memory, process, network, time, ipc, security, signal, system, other) nor a syscall of ${process.arch}`);
  }
  return [...new Set(words)];
}

/** Validates merged raw values into GlobalOptions. */
export function toGlobalOptions(values: RawValues): GlobalOptions {
  const str = (k: string) => values[k] as string | undefined;
  const flag = (k: string) => values[k] === true;

  const intervalMs = str('interval') === undefined ? 100 : numberIn('interval', str('interval')!, 'milliseconds', MIN_INTERVAL_MS, MAX_INTERVAL_MS);
  const maxIntervalMs = str('max-interval') === undefined ? Math.max(1000, intervalMs) : numberIn('max-interval', str('max-interval')!, 'milliseconds', MIN_INTERVAL_MS, MAX_INTERVAL_MS);
  if (str('max-interval') !== undefined && intervalMs > maxIntervalMs) {
    throw new UsageError(`--interval (${intervalMs} ms) is greater than --max-interval (${maxIntervalMs} ms); lower -i or raise -m`);
  }
  const durationSec = str('duration') === undefined ? 0 : numberIn('duration', str('duration')!, 'seconds', 0.01, MAX_DURATION_SEC, { zero: true });
  const table = (k: 'max-processes' | 'max-counts' | 'max-details', range: readonly [number, number], unit: string) =>
    str(k) === undefined ? undefined : numberIn(k, str(k)!, unit, range[0], range[1], { integer: true });
  const maxProcesses = table('max-processes', MAX_TABLE.processes, 'processes');
  const maxCounts = table('max-counts', MAX_TABLE.counts, '(process, syscall) pairs');
  const maxDetails = table('max-details', MAX_TABLE.details, '(process, syscall) pairs');
  const trace = str('trace') === undefined ? undefined : parseTrace(str('trace')!);
  if (flag('count-only') && flag('failed-only')) {
    throw new UsageError('--failed-only needs each syscall\'s return, which --count-only does not trace; give one of them');
  }
  if (flag('count-only') && maxDetails !== undefined) {
    throw new UsageError('--max-details sizes the table of errors and times, which --count-only does not keep; give one of them');
  }
  if (flag('kill-on-duration') && durationSec === 0) {
    throw new UsageError('--kill-on-duration needs --duration S (how long to let the command run)');
  }
  const attach = str('ebpf-attach') ?? 'auto';
  if (attach !== 'auto' && attach !== 'raw' && attach !== 'tracefs') {
    throw new UsageError(`invalid --ebpf-attach '${attach}': expected auto, raw or tracefs`);
  }
  const stacks = stackOptions(str, flag);
  if (stacks && flag('failed-only')) throw new UsageError(STACKS_FAILED_ONLY);
  // The syscall-counting and stack options turn it on, as --ebpf-attach does; the table sizes need it asked for.
  const ebpf = flag('enable-ebpf') || flag('require-ebpf') || str('ebpf-attach') !== undefined
    || flag('count-only') || flag('per-thread') || flag('failed-only') || trace !== undefined || stacks !== undefined;
  for (const k of ['max-processes', 'max-counts', 'max-details'] as const) {
    if (str(k) !== undefined && !ebpf) throw new UsageError(`--${k} sizes a kernel table of the eBPF counting: give --enable-ebpf too`);
  }
  for (const k of ['no-off-cpu', 'no-net'] as const) {
    if (flag(k) && !ebpf) throw new UsageError(`--${k} leaves out programs of the eBPF monitoring: it means something only with --enable-ebpf`);
  }
  for (const k of ['out', 'stats', 'report', 'stacks', 'flamegraph'] as const) {
    const example = { stacks: 'stacks.folded', flamegraph: 'flame.svg', report: 'report.html' }[k as string] ?? 'run.jsonl';
    if (str(k) === '') throw new UsageError(`--${k} needs a file name, e.g. --${k} ${example}`);
  }
  const prometheus = str('prometheus') === undefined ? undefined : parseListenAddress(str('prometheus')!);
  if (str('prometheus') !== undefined && !prometheus) {
    throw new UsageError(`invalid --prometheus '${str('prometheus')}': expected [HOST]:PORT, e.g. 127.0.0.1:9464, :9464 (every interface) or [::1]:9464`);
  }
  const target = str('prometheus-target');
  if (target !== undefined && !prometheus) throw new UsageError('--prometheus-target names the target in exported metrics: give --prometheus [HOST]:PORT too');
  if (target !== undefined && (target === '' || target.length > 256)) throw new UsageError('--prometheus-target needs a name of 1 to 256 characters, e.g. --prometheus-target nginx');
  if (str('cgroup') === '') throw new UsageError('--cgroup needs a cgroup, e.g. --cgroup /sys/fs/cgroup/system.slice/nginx.service');
  return {
    // Asking for eBPF in any way turns it on.
    enableEbpf: ebpf,
    requireEbpf: flag('require-ebpf'),
    ebpfAttach: attach,
    maxProcesses,
    maxCounts,
    maxDetails,
    countOnly: flag('count-only'),
    perThread: flag('per-thread'),
    trace,
    failedOnly: flag('failed-only'),
    stacks,
    noOffCpu: flag('no-off-cpu'),
    noNet: flag('no-net'),
    stopWithCommand: flag('stop-with-command'),
    json: flag('json'),
    out: str('out'),
    stats: str('stats'),
    report: str('report'),
    intervalMs,
    maxIntervalMs,
    durationSec,
    killOnDuration: flag('kill-on-duration'),
    noUpdate: flag('no-update'),
    quiet: flag('quiet'),
    excludeChildren: flag('exclude-children'),
    sinceProcessStart: flag('since-process-start'),
    writeEnv: flag('write-env'),
    prometheus: prometheus ?? undefined,
    prometheusTarget: target,
    cgroup: str('cgroup'),
    help: flag('help'),
    version: flag('version'),
  };
}

/** --stacks/--flamegraph turn capture on; the other stack options only tune it. */
function stackOptions(str: (k: string) => string | undefined, flag: (k: string) => boolean): StackCliOptions | undefined {
  const folded = str('stacks'), flamegraph = str('flamegraph');
  if (folded === undefined && flamegraph === undefined) {
    for (const k of ['stacks-every', 'stacks-max'] as const) {
      if (str(k) !== undefined) throw new UsageError(`--${k} tunes stack capture: give --stacks FILE or --flamegraph FILE.svg too`);
    }
    if (flag('stacks-kernel')) throw new UsageError('--stacks-kernel tunes stack capture: give --stacks FILE or --flamegraph FILE.svg too');
    return undefined;
  }
  if (folded !== undefined && folded === flamegraph && folded !== '' && folded !== '-') {
    throw new UsageError('--stacks and --flamegraph name the same file; give them different names');
  }
  const every = str('stacks-every') === undefined ? 1 : numberIn('stacks-every', str('stacks-every')!, 'syscalls', 1, MAX_STACKS_EVERY, { integer: true });
  const max = str('stacks-max') === undefined ? undefined : numberIn('stacks-max', str('stacks-max')!, 'stacks', MAX_TABLE.stacks[0], MAX_TABLE.stacks[1], { integer: true });
  return { folded, flamegraph, every, kernel: flag('stacks-kernel'), max };
}

/**
 * `run`/`attach`: monitor options may also follow the subcommand (before the command or PID).
 * Returns the validated options and the words from the first positional on.
 */
export function parseMonitorArgs(globalValues: RawValues, args: string[]): { opts: GlobalOptions; words: string[] } {
  const split = splitAtPositional(args, GLOBAL_OPTIONS);
  const values = { ...globalValues, ...stripUndefined(parseGlobalValues(split.opts)) };
  const words = split.word !== undefined ? [split.word, ...split.rest] : split.rest;
  return { opts: toGlobalOptions(values), words };
}

function stripUndefined(values: RawValues): RawValues {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
}

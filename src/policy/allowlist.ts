// The union of the syscalls seen in one or more runs, per ABI: the native syscalls and, apart, the
// 32-bit compat ones (named ia32:NAME / arm32:NAME in the runs), each with its number on that ABI.
import { syscallTable, type NativeArch, type NumberedTable, type SyscallTable } from '../syscalls/index.js';
import type { RunData } from './run.js';

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

export interface AllowEntry {
  /** the name without the compat prefix; `syscall_N` when the table has no name for N */
  name: string;
  nr: number;
  /** calls over all runs (0 for names added with --allow) */
  calls: number;
  /** true when the table has a name for it (the OCI and systemd formats need one) */
  named: boolean;
}

export interface AllowList {
  arch: NativeArch;
  /** how the architecture was found */
  archFrom: 'option' | 'metadata' | 'names' | 'host';
  compatPrefix: string;
  native: AllowEntry[];
  compat: AllowEntry[];
  sources: string[];
}

export interface LearnOptions {
  /** --arch: the architecture the runs were recorded on */
  arch?: string;
  /** --allow: names to add (native, or with the compat prefix) */
  allow?: readonly string[];
}

const ARCH_NAMES: Record<string, NativeArch> = { x86_64: 'x86_64', x64: 'x86_64', amd64: 'x86_64', aarch64: 'aarch64', arm64: 'aarch64' };
const PREFIX_ARCH: Record<string, NativeArch> = { ia32: 'x86_64', arm32: 'aarch64' };

function resolveArch(runs: readonly RunData[], option?: string): { arch: NativeArch; from: AllowList['archFrom'] } {
  if (option !== undefined) {
    const arch = ARCH_NAMES[option];
    if (!arch) throw new PolicyError(`unknown --arch '${option}' (expected x86_64 or aarch64)`);
    for (const r of runs) {
      if (r.arch !== undefined && ARCH_NAMES[r.arch] !== arch) throw new PolicyError(`--arch ${option} disagrees with ${r.source}, recorded on ${r.arch}`);
    }
    return { arch, from: 'option' };
  }
  const seen = new Map<NativeArch, string>();
  let from: AllowList['archFrom'] = 'host';
  for (const r of runs) {
    let arch = r.arch !== undefined ? ARCH_NAMES[r.arch] : undefined;
    if (r.arch !== undefined && !arch) throw new PolicyError(`${r.source} was recorded on ${r.arch}, which has no syscall table here (x86_64, aarch64)`);
    if (arch) from = 'metadata';
    for (const name of r.syscalls?.keys() ?? []) {
      const byName = PREFIX_ARCH[name.split(':')[0]!];
      if (byName && !arch) { arch = byName; if (from === 'host') from = 'names'; }
    }
    if (arch) {
      const other = [...seen].find(([a]) => a !== arch);
      if (other) throw new PolicyError(`${r.source} was recorded on ${arch} but ${other[1]} on ${other[0]}; learn one architecture at a time`);
      seen.set(arch, r.source);
    }
  }
  const first = [...seen.keys()][0];
  if (first) return { arch: first, from };
  return { arch: syscallTable().arch, from: 'host' };
}

function entryFor(table: NumberedTable, bare: string, where: string, arch: string): Omit<AllowEntry, 'calls'> {
  const nr = table.number(bare);
  if (nr !== undefined) return { name: bare, nr, named: true };
  const m = /^syscall_(\d+)$/.exec(bare);
  if (m) return { name: bare, nr: Number(m[1]), named: false };
  throw new PolicyError(`${where}: '${bare}' is not a ${arch} syscall (was it recorded on another architecture? give --arch)`);
}

/** Learns the allow-list from runs with complete syscall counts, plus `allow`. */
export function learnAllowList(runs: readonly RunData[], opts: LearnOptions = {}): AllowList {
  if (runs.length === 0) throw new PolicyError('no runs given');
  for (const r of runs) {
    if (!r.syscalls) throw new PolicyError(`${r.source} has no syscall counts; record the run with --enable-ebpf (and --out FILE)`);
    if (r.syscallsPartial) throw new PolicyError(`${r.source} lacks its summary line, so only its most frequent syscalls are known; an allow-list needs them all: record the run again`);
    if (r.incomplete) throw new PolicyError(`${r.source}: ${r.incomplete}, so the allow-list could miss syscalls; record the run again (with larger tables)`);
  }
  const { arch, from } = resolveArch(runs, opts.arch);
  const table: SyscallTable = syscallTable(arch);
  const prefix = `${table.compat.prefix}:`;
  const native = new Map<string, AllowEntry>();
  const compat = new Map<string, AllowEntry>();
  const add = (full: string, calls: number, where: string): void => {
    const isCompat = full.startsWith(prefix);
    const bare = isCompat ? full.slice(prefix.length) : full;
    if (bare.includes(':')) throw new PolicyError(`${where}: '${full}' is a syscall of another architecture than ${arch}`);
    const into = isCompat ? compat : native;
    const e = into.get(bare) ?? { ...entryFor(isCompat ? table.compat : table, bare, where, isCompat ? `${arch} 32-bit (${prefix.slice(0, -1)})` : arch), calls: 0 };
    e.calls += calls;
    into.set(bare, e);
  };
  for (const r of runs) for (const [name, f] of r.syscalls!) if (f.calls > 0) add(name, f.calls, r.source);
  for (const spec of opts.allow ?? []) {
    for (const name of spec.split(',').map((s) => s.trim())) {
      if (name === '') throw new PolicyError(`empty name in --allow '${spec}'`);
      add(name, 0, '--allow');
    }
  }
  // Busiest first: the filter tests them in this order, so the common syscalls match soonest.
  const order = (a: AllowEntry, b: AllowEntry) => b.calls - a.calls || a.nr - b.nr;
  return {
    arch, archFrom: from, compatPrefix: table.compat.prefix,
    native: [...native.values()].sort(order),
    compat: [...compat.values()].sort(order),
    sources: runs.map((r) => r.source),
  };
}

// Syscall number <-> name for the running architecture and its 32-bit compat ABI.
import { SYSCALLS as X86_64 } from './tables/x86_64.js';
import { SYSCALLS as I386 } from './tables/i386.js';
import { SYSCALLS as AARCH64 } from './tables/aarch64.js';
import { SYSCALLS as ARM } from './tables/arm.js';

/**
 * The tracer ORs this bit into the syscall number it stores for a syscall made through the compat
 * (32-bit) entry, because the same number means a different syscall there (i386 3 = read, x86_64 3 = close).
 * Real syscall numbers stay far below it (the largest, ARM's private calls, is 0xf0006).
 */
export const COMPAT_BIT = 0x80000000;

export type NativeArch = 'x86_64' | 'aarch64';
export type CompatPrefix = 'ia32' | 'arm32';

export interface NumberedTable {
  /** The syscall's name, or `syscall_<nr>` for a number this table does not know. */
  name(nr: number): string;
  number(name: string): number | undefined;
  /** Every [number, name] the table knows, in number order. */
  entries(): ReadonlyArray<readonly [number, string]>;
}

export interface SyscallTable extends NumberedTable {
  arch: NativeArch;
  /** The 32-bit ABI; its names carry the prefix (`ia32:read`), and number() accepts them with or without it. */
  compat: NumberedTable & { prefix: CompatPrefix };
}

function numbered(rows: ReadonlyArray<readonly [number, string]>, prefix = ''): NumberedTable {
  const byNr = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const [nr, name] of rows) {
    byNr.set(nr, prefix + name);
    byName.set(name, nr);
  }
  const all = [...byNr].sort((a, b) => a[0] - b[0]);
  return {
    name: (nr) => byNr.get(nr) ?? `${prefix}syscall_${nr}`,
    number: (name) => byName.get(prefix && name.startsWith(prefix) ? name.slice(prefix.length) : name),
    entries: () => all,
  };
}

// Node's process.arch spelling and the kernel's both map to our table names.
const ARCH_ALIASES: Record<string, NativeArch> = { x64: 'x86_64', x86_64: 'x86_64', arm64: 'aarch64', aarch64: 'aarch64' };
const cache = new Map<NativeArch, SyscallTable>();

/** The table of `arch` (Node's `process.arch` or the kernel's name). Throws for an architecture we have no table for. */
export function syscallTable(arch: string = process.arch): SyscallTable {
  const native = ARCH_ALIASES[arch];
  if (!native) {
    throw new Error(`no syscall table for architecture '${arch}' (supported: x64/x86_64, arm64/aarch64)`);
  }
  let table = cache.get(native);
  if (!table) {
    const [rows, compatRows, prefix]: [typeof X86_64, typeof I386, CompatPrefix] =
      native === 'x86_64' ? [X86_64, I386, 'ia32'] : [AARCH64, ARM, 'arm32'];
    table = { arch: native, ...numbered(rows), compat: { prefix, ...numbered(compatRows, `${prefix}:`) } };
    cache.set(native, table);
  }
  return table;
}

/** Name of a key as the tracer stores it: a native number, or a compat number with COMPAT_BIT set. */
export function nameOf(table: SyscallTable, key: number): string {
  // `>>> 0` reads the key as unsigned, whether it arrived as 0x80000003 or as the int32 -2147483645.
  const k = key >>> 0;
  return k >= COMPAT_BIT ? table.compat.name(k - COMPAT_BIT) : table.name(k);
}

// Address → symbol for one ELF file: the sized function and object symbols of .symtab and .dynsym,
// sorted, answering only when a symbol's [value, value+size) covers the address. Anything else is
// answered as "[file+0xOFFSET]" (the file offset, which names the spot exactly) — never with the
// nearest preceding name, which is how profilers print wrong frames.
import type { ElfFile } from './file.js';
import type { ElfSymbol } from './symbols.js';
import { SHN, STB, STT } from './constants.js';
import { ElfError } from './errors.js';

export interface SymbolHit {
  name: string;
  /** address − symbol value */
  offset: number;
  symbol: ElfSymbol;
}

const CODE_OR_DATA = new Set<number>([STT.FUNC, STT.OBJECT, STT.GNU_IFUNC, STT.TLS]);
/** When two symbols start at one address: a global name beats a weak one, a weak one a local one. */
const BIND_RANK: Record<number, number> = { [STB.GLOBAL]: 0, [STB.WEAK]: 1, [STB.GNU_UNIQUE]: 1, [STB.LOCAL]: 2 };

/** How many of the ascending `sorted` are at most `x` (binary search): the index after the last such one. */
export function countAtOrBelow(sorted: ArrayLike<bigint>, x: bigint): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as bigint) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class SymbolIndex {
  private readonly starts: BigUint64Array;
  private readonly ends: BigUint64Array;
  /** maxEnd[i] = max(ends[0..i]): lets a lookup stop walking back once nothing earlier can cover */
  private readonly maxEnd: BigUint64Array;
  private readonly syms: ElfSymbol[];
  /** Symbol tables that could not be read (the index is built from the others): their errors' messages. */
  readonly problems: string[] = [];

  /**
   * @param label the name used in "[label+0xoff]" answers (default: the file's base name)
   */
  constructor(private readonly elf: ElfFile, readonly label = elf.source.split('/').pop() || elf.source) {
    const seen = new Map<string, ElfSymbol>();
    for (const s of [...this.safe(() => elf.symbols()), ...this.safe(() => elf.dynamicSymbols())]) {
      if (!CODE_OR_DATA.has(s.type) || s.size === 0 || s.name === '') continue;
      if (s.shndx === SHN.UNDEF || s.shndx === SHN.ABS || s.shndx === SHN.COMMON) continue;
      const key = `${s.value}:${s.size}`;
      const prev = seen.get(key);
      if (!prev || better(s, prev)) seen.set(key, s);
    }
    const syms = [...seen.values()].sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : b.size - a.size));
    this.syms = syms;
    this.starts = BigUint64Array.from(syms, (s) => s.value);
    this.ends = BigUint64Array.from(syms, (s) => s.value + BigInt(s.size));
    this.maxEnd = new BigUint64Array(syms.length);
    let m = 0n;
    for (let i = 0; i < syms.length; i++) this.maxEnd[i] = m = this.ends[i]! > m ? this.ends[i]! : m;
  }

  get size(): number { return this.syms.length; }

  /** The innermost symbol covering virtual address `addr` (as in the file, before any load bias). */
  lookup(addr: bigint): SymbolHit | null {
    // From the last symbol starting at or before addr, back while one could still cover it.
    const lo = countAtOrBelow(this.starts, addr);
    let best = -1;
    for (let i = lo - 1; i >= 0 && this.maxEnd[i]! > addr; i--) {
      if (this.ends[i]! > addr && (best < 0 || this.ends[i]! - this.starts[i]! < this.ends[best]! - this.starts[best]!)) best = i;
    }
    if (best < 0) return null;
    const symbol = this.syms[best]!;
    return { name: symbol.name, offset: Number(addr - symbol.value), symbol };
  }

  /** The symbol covering the code at file offset `off` (what build-id stack entries carry). */
  lookupFileOffset(off: number): SymbolHit | null {
    const addr = this.elf.offsetToAddress(off);
    return addr === undefined ? null : this.lookup(addr);
  }

  /** "name+0x1f" for a covered file offset, "[label+0xOFF]" otherwise. */
  frameAtFileOffset(off: number): string {
    const hit = this.lookupFileOffset(off);
    if (!hit) return `[${this.label}+0x${off.toString(16)}]`;
    return hit.offset === 0 ? hit.name : `${hit.name}+0x${hit.offset.toString(16)}`;
  }

  /**
   * A frame for a runtime address inside a mapping of this file: `mapStart` and `pgoff` as in
   * /proc/PID/maps (start address, file offset of the mapping).
   */
  frameInMapping(addr: bigint, mapStart: bigint, pgoff: number): string {
    return this.frameAtFileOffset(Number(addr - mapStart) + pgoff);
  }

  /** A symbol table that cannot be read leaves the other usable; the index just knows less. */
  private safe(read: () => ElfSymbol[]): ElfSymbol[] {
    try {
      return read();
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      this.problems.push(e.message);
      return [];
    }
  }
}

function better(a: ElfSymbol, b: ElfSymbol): boolean {
  const ra = BIND_RANK[a.bind] ?? 3, rb = BIND_RANK[b.bind] ?? 3;
  if (ra !== rb) return ra < rb;
  if ((a.type === STT.FUNC) !== (b.type === STT.FUNC)) return a.type === STT.FUNC;
  // Stable, readable choice among aliases: the shorter name without leading underscores.
  const ua = a.name.startsWith('_'), ub = b.name.startsWith('_');
  if (ua !== ub) return !ua;
  return a.name.length < b.name.length || (a.name.length === b.name.length && a.name < b.name);
}

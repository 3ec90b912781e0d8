// Kernel addresses → names from /proc/kallsyms (addresses are shown only to privileged readers; a list of
// zeros means they are hidden, and then nothing is named).
import { readFileSync } from 'node:fs';
import { countAtOrBelow } from '../elf/index.js';

export class KernelSymbols {
  private constructor(private readonly addrs: BigUint64Array, private readonly names: string[]) {}

  get size(): number { return this.names.length; }

  static parse(text: string): KernelSymbols {
    const syms: { addr: bigint; name: string }[] = [];
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]+) ([tTwW]) (\S+)/.exec(line);
      if (!m) continue;
      const addr = BigInt(`0x${m[1]}`);
      if (addr !== 0n) syms.push({ addr, name: m[3]! });
    }
    syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    return new KernelSymbols(BigUint64Array.from(syms, (s) => s.addr), syms.map((s) => s.name));
  }

  static read(path = '/proc/kallsyms'): KernelSymbols {
    try {
      return KernelSymbols.parse(readFileSync(path, 'utf8'));
    } catch {
      return new KernelSymbols(new BigUint64Array(0), []);
    }
  }

  /**
   * The text symbol at or before `addr`. kallsyms has no sizes, but kernel text is covered by its
   * symbols end to end, so the preceding one is the function (beyond the last symbol: none).
   */
  lookup(addr: bigint): string | undefined {
    const lo = countAtOrBelow(this.addrs, addr);
    if (lo === 0 || lo === this.addrs.length) return undefined;
    return this.names[lo - 1];
  }
}

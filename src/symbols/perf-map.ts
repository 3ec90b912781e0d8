// /tmp/perf-PID.map: the symbol table a JIT writes for its generated code (node --perf-basic-prof, the
// JVM with perf-map-agent, LuaJIT, …). One line per function: "START SIZE name", hex, with or without 0x.
import { readFileSync, statSync } from 'node:fs';
import { countAtOrBelow } from '../elf/index.js';

export class PerfMap {
  private readonly starts: BigUint64Array;
  private readonly ends: BigUint64Array;
  private readonly names: string[];

  private constructor(entries: { start: bigint; end: bigint; name: string }[]) {
    // A JIT may write a new function over the address of an older, freed one: the later line wins.
    const sorted = entries.map((e, i) => ({ ...e, i })).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : b.i - a.i));
    const kept = sorted.filter((e, k) => k === 0 || e.start !== sorted[k - 1]!.start);
    this.starts = BigUint64Array.from(kept, (e) => e.start);
    this.ends = BigUint64Array.from(kept, (e) => e.end);
    this.names = kept.map((e) => e.name);
  }

  get size(): number { return this.names.length; }

  static parse(text: string): PerfMap {
    const entries: { start: bigint; end: bigint; name: string }[] = [];
    for (const line of text.split('\n')) {
      const m = /^(?:0x)?([0-9a-fA-F]{1,16}) (?:0x)?([0-9a-fA-F]{1,16}) (.+)$/.exec(line);
      if (!m) continue;
      const start = BigInt(`0x${m[1]}`), size = BigInt(`0x${m[2]}`);
      if (size === 0n) continue;
      entries.push({ start, end: start + size, name: m[3]!.trim() });
    }
    return new PerfMap(entries);
  }

  /**
   * The map of process `pid`, when its file exists and was written since `sinceMs` (a file left by an
   * earlier process with the same pid is not this one's); undefined otherwise.
   */
  static read(pid: number, sinceMs = 0, dir = '/tmp'): PerfMap | undefined {
    const path = `${dir}/perf-${pid}.map`;
    try {
      if (statSync(path).mtimeMs < sinceMs) return undefined;
      return PerfMap.parse(readFileSync(path, 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** The function whose [start, start+size) covers `ip`. */
  lookup(ip: bigint): string | undefined {
    const lo = countAtOrBelow(this.starts, ip);
    const i = lo - 1;
    return i >= 0 && ip < this.ends[i]! ? this.names[i] : undefined;
  }
}

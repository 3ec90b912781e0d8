// binutils' readings of an ELF file, parsed, so tests compare our reader with an independent one.
import { execFileSync, spawnSync } from 'node:child_process';

const run = (args: string[]): string => execFileSync('readelf', ['-W', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });

export interface RefSymbol { num: number; value: bigint; size: number; type: string; bind: string; ndx: string; name: string }

/** `readelf -s` (or `--dyn-syms`): the symbols of one table, names without @VERSION suffixes. */
export function readelfSymbols(file: string, table: '.symtab' | '.dynsym'): RefSymbol[] {
  const text = run([table === '.dynsym' ? '--dyn-syms' : '--syms', file]);
  const out: RefSymbol[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    const head = /^Symbol table '([^']+)'/.exec(line);
    if (head) { inTable = head[1] === table; continue; }
    if (!inTable) continue;
    const m = /^\s*(\d+): ([0-9a-f]+)\s+(0x[0-9a-f]+|\d+) (\S+)\s+(\S+)\s+\S+\s+(\S+)(?: (.*))?$/.exec(line);
    if (!m) continue;
    // .dynsym: readelf appends the version from .gnu.version ("@GLIBC_2.34 (3)"); in .symtab an
    // "@VERSION" is part of the name itself.
    const name = table === '.dynsym' ? (m[7] ?? '').replace(/ \(\d+\)$/, '').replace(/@.*$/, '') : (m[7] ?? '');
    out.push({ num: Number(m[1]), value: BigInt('0x' + m[2]), size: Number(m[3]), type: m[4]!, bind: m[5]!, ndx: m[6]!, name });
  }
  return out;
}

export interface RefSection { index: number; name: string; type: string; offset: number; size: number }

export function readelfSections(file: string): RefSection[] {
  const out: RefSection[] = [];
  for (const line of run(['-S', file]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+[0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+)/.exec(line);
    // Section 0 has an empty name, so the regex sees NULL as the name: normalise.
    if (m) out.push(m[2] === 'NULL' && m[1] === '0' ? { index: 0, name: '', type: 'NULL', offset: 0, size: 0 } : { index: Number(m[1]), name: m[2]!, type: m[3]!, offset: parseInt(m[4]!, 16), size: parseInt(m[5]!, 16) });
  }
  return out;
}

export interface RefLoad { offset: number; vaddr: bigint; filesz: number; memsz: bigint; flags: string }

export function readelfLoads(file: string): RefLoad[] {
  const out: RefLoad[] = [];
  for (const line of run(['-l', file]).split('\n')) {
    const m = /^\s*LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) (.{3})/.exec(line);
    if (m) out.push({ offset: parseInt(m[1]!, 16), vaddr: BigInt('0x' + m[2]), filesz: parseInt(m[3]!, 16), memsz: BigInt('0x' + m[4]), flags: m[5]!.replace(/ /g, '') });
  }
  return out;
}

export function readelfBuildId(file: string): string | undefined {
  return /Build ID: ([0-9a-f]+)/.exec(run(['-n', file]))?.[1];
}

export interface RefReloc { offset: bigint; symbol: number; type: number; addend: bigint }

/** `readelf -r`, per relocation section name (symbol index and type from the info word). */
export function readelfRelocations(file: string): Map<string, RefReloc[]> {
  const out = new Map<string, RefReloc[]>();
  let cur: RefReloc[] | undefined;
  for (const line of run(['-r', file]).split('\n')) {
    const head = /^Relocation section '([^']+)'/.exec(line);
    if (head) { cur = []; out.set(head[1]!, cur); continue; }
    const m = /^([0-9a-f]{16})\s+([0-9a-f]{16})\s+\S+(.*)$/.exec(line);
    if (!m || !cur) continue;
    const info = BigInt('0x' + m[2]);
    const rest = m[3]!.trimEnd();
    // "... NAME + 1a" / "... NAME - 4" (RELA with a symbol), or a bare addend (RELA without one), or nothing (REL).
    const signed = /([+-]) ([0-9a-f]+)$/.exec(rest);
    const bare = /^\s+([0-9a-f]+)$/.exec(rest);
    const addend = signed ? BigInt('0x' + signed[2]) * (signed[1] === '-' ? -1n : 1n) : bare ? BigInt('0x' + bare[1]) : 0n;
    cur.push({ offset: BigInt('0x' + m[1]), symbol: Number(info >> 32n), type: Number(info & 0xffffffffn), addend });
  }
  return out;
}

/** `nm --defined-only` (or -D): [address, type letter, name]. */
export function nmDefined(file: string, dynamic: boolean): Array<[bigint, string, string]> {
  const text = execFileSync('nm', [...(dynamic ? ['-D'] : []), '--defined-only', file], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const out: Array<[bigint, string, string]> = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) (\S) (\S+)$/.exec(line);
    if (m) out.push([BigInt('0x' + m[1]), m[2]!, m[3]!.replace(/@.*$/, '')]);
  }
  return out;
}

const toolAnnounced = new Set<string>();
/** Registers a test needing command-line tools; without them it is skipped with the reason printed. */
export function toolTest(suite: import('uvu').Test, name: string, tools: string[], fn: () => unknown | Promise<unknown>): void {
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) { suite(name, fn as () => void); return; }
  const why = `needs ${missing.join(', ')} (apt-get install ${missing.map((t) => (t === 'readelf' || t === 'nm' ? 'binutils' : t)).join(' ')})`;
  if (!toolAnnounced.has(why)) { toolAnnounced.add(why); console.log(`  [skip] tests skipped: ${why}`); }
  console.log(`  [skip] ${name}`);
  suite.skip(name, fn as () => void);
}

// The ELF reader against binutils on real files of this machine (/bin/ls, libc, a gcc-built PIE
// and object file), and against corrupted copies: every bad file is an ElfError, never a crash.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfError, ElfFile, SHN, STT, SymbolIndex, type ElfSymbol } from '../src/elf/index.js';
import { nmDefined, readelfBuildId, readelfLoads, readelfRelocations, readelfSections, readelfSymbols, toolTest } from './_lib/readelf.js';
import { ROOT, scratchDir } from './_lib/workloads.js';

const test = suite('elf');

const LS = '/bin/ls';
/** The libc this very process runs on. */
const LIBC = readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/)[5] ?? '').find((p) => /\/libc\.so\.6$/.test(p)) ?? '/lib/x86_64-linux-gnu/libc.so.6';

const built = new Map<string, string>();
/** test/fixtures/symbols.c built once: 'pie', 'object' or 'stripped' (the PIE without .symtab). */
function fixture(kind: 'pie' | 'object' | 'stripped'): string {
  const hit = built.get(kind);
  if (hit) return hit;
  const src = join(ROOT, 'test/fixtures/symbols.c');
  const out = join(scratchDir(), `symbols-${kind}${kind === 'object' ? '.o' : ''}`);
  if (kind === 'object') execFileSync('gcc', ['-O1', '-c', '-o', out, src]);
  else if (kind === 'pie') execFileSync('gcc', ['-O1', '-pie', '-fPIE', '-Wl,--build-id', '-o', out, src]);
  else { copyFileSync(fixture('pie'), out); execFileSync('strip', ['--strip-all', out]); }
  built.set(kind, out);
  return out;
}

const TYPE: Record<string, number> = { NOTYPE: 0, OBJECT: 1, FUNC: 2, SECTION: 3, FILE: 4, COMMON: 5, TLS: 6, IFUNC: 10 };
const BIND: Record<string, number> = { LOCAL: 0, GLOBAL: 1, WEAK: 2, UNIQUE: 10 };
const ndx = (s: string): number => (s === 'UND' ? SHN.UNDEF : s === 'ABS' ? SHN.ABS : s === 'COM' ? SHN.COMMON : Number(s));

function sameSymbols(file: string, ours: ElfSymbol[], table: '.symtab' | '.dynsym'): void {
  const sections = ElfFile.read(file).sections;
  const ref = readelfSymbols(file, table);
  assert.ok(ref.length > 0, `readelf lists ${table} of ${file}`);
  assert.is(ours.length, ref.length, `${file} ${table}: symbol count`);
  for (const r of ref) {
    const s = ours[r.num]!;
    const where = `${file} ${table}[${r.num}] ${r.name}`;
    // readelf names section symbols after their section; their own name is empty.
    assert.is(r.type === 'SECTION' ? sections[s.shndx]!.name : s.name, r.name, where);
    assert.is(s.value, r.value, `${where} value`);
    assert.is(s.size, r.size, `${where} size`);
    assert.is(s.type, TYPE[r.type], `${where} type ${r.type}`);
    assert.is(s.bind, BIND[r.bind], `${where} bind ${r.bind}`);
    assert.is(s.shndx, ndx(r.ndx), `${where} ndx ${r.ndx}`);
  }
}

toolTest(test, 'headers and section names match readelf -S (ls, libc, a PIE, an object file)', ['readelf', 'gcc'], () => {
  for (const file of [LS, LIBC, fixture('pie'), fixture('object')]) {
    const elf = ElfFile.read(file);
    const ref = readelfSections(file);
    assert.is(elf.sections.length, ref.length, `${file}: section count`);
    for (const r of ref) {
      const s = elf.sections[r.index]!;
      assert.is(s.name, r.name, `${file} section ${r.index}`);
      if (r.index > 0) assert.equal([s.offset, s.size], [r.offset, r.size], `${file} ${r.name} offset/size`);
    }
    assert.ok(elf.header.littleEndian);
  }
  assert.is(ElfFile.read(fixture('object')).header.type, 1, 'ET_REL');
  assert.is(ElfFile.read(LIBC).header.type, 3, 'ET_DYN');
});

toolTest(test, '.dynsym of ls and libc and .symtab of a PIE and an object file match readelf -s', ['readelf', 'gcc'], () => {
  sameSymbols(LS, ElfFile.read(LS).dynamicSymbols(), '.dynsym');
  sameSymbols(LIBC, ElfFile.read(LIBC).dynamicSymbols(), '.dynsym');
  sameSymbols(fixture('pie'), ElfFile.read(fixture('pie')).symbols(), '.symtab');
  sameSymbols(fixture('object'), ElfFile.read(fixture('object')).symbols(), '.symtab');
  assert.equal(ElfFile.read(LS).symbols(), [], 'ls is stripped: no .symtab');
});

toolTest(test, 'build ids match readelf -n', ['readelf', 'gcc'], () => {
  for (const file of [LS, LIBC, fixture('pie')]) {
    const want = readelfBuildId(file);
    assert.ok(want && want.length >= 16, `${file} has a build id`);
    assert.is(ElfFile.read(file).buildId(), want, file);
  }
  assert.is(ElfFile.read(fixture('object')).buildId(), undefined, 'an object file has none');
});

toolTest(test, 'relocations (REL/RELA sections) match readelf -r', ['readelf', 'gcc'], () => {
  for (const file of [fixture('object'), LS, LIBC]) {
    const elf = ElfFile.read(file);
    // readelf -r also lists SHT_RELR (packed relative relocations), which this reader does not decode.
    const ref = new Map([...readelfRelocations(file)].filter(([name]) => elf.section(name)?.type !== 19));
    const ours = elf.relocationSections();
    assert.ok(ours.length > 0, `${file} has relocation sections`);
    assert.is(ours.length, ref.size, `${file}: relocation sections`);
    for (const rs of ours) {
      const want = ref.get(rs.section.name)!;
      assert.ok(want, `${file} ${rs.section.name} is listed by readelf`);
      assert.equal(rs.relocations.map((r) => [r.offset, r.symbol, r.type, r.addend]), want.map((r) => [r.offset, r.symbol, r.type, r.addend]), `${file} ${rs.section.name}`);
    }
  }
  const text = ElfFile.read(fixture('object')).relocationSections().find((r) => r.section.name === '.rela.text')!;
  assert.is(text.target?.name, '.text');
  assert.is(text.symtab.name, '.symtab');
});

toolTest(test, 'PT_LOAD mapping: file offsets and virtual addresses agree with readelf -l', ['readelf', 'gcc'], () => {
  for (const file of [LS, LIBC, fixture('pie')]) {
    const elf = ElfFile.read(file);
    const ref = readelfLoads(file);
    assert.equal(elf.loads.map((p) => [p.offset, p.vaddr, p.filesz, p.memsz]), ref.map((p) => [p.offset, p.vaddr, p.filesz, p.memsz]), file);
    for (const p of ref) {
      assert.is(elf.offsetToAddress(p.offset), p.vaddr);
      assert.is(elf.offsetToAddress(p.offset + p.filesz - 1), p.vaddr + BigInt(p.filesz - 1));
      assert.is(elf.addressToOffset(p.vaddr + BigInt(p.filesz - 1)), p.offset + p.filesz - 1);
    }
    const last = ref[ref.length - 1]!;
    assert.is(elf.offsetToAddress(last.offset + last.filesz + (1 << 20)), undefined, 'past every segment');
  }
});

toolTest(test, 'lookup: every sized function nm -D lists in libc resolves to itself or an alias at its address', ['nm', 'readelf'], () => {
  const elf = ElfFile.read(LIBC);
  const index = new SymbolIndex(elf);
  const funcs = elf.dynamicSymbols().filter((s) => s.type === STT.FUNC && s.size > 0 && s.shndx !== SHN.UNDEF);
  const nmAddr = new Map<string, bigint[]>();
  for (const [a, , n] of nmDefined(LIBC, true)) nmAddr.set(n, [...(nmAddr.get(n) ?? []), a]);
  assert.ok(funcs.length > 1000, `libc has many functions (${funcs.length})`);
  for (const f of funcs) {
    assert.ok(nmAddr.get(f.name)?.includes(f.value), `nm agrees on ${f.name}`);
    for (const addr of [f.value, f.value + BigInt(f.size - 1)]) {
      const hit = index.lookup(addr);
      assert.ok(hit, `${f.name} at 0x${addr.toString(16)} found`);
      assert.ok(hit.symbol.value <= addr && addr < hit.symbol.value + BigInt(hit.symbol.size), `${hit.name} covers 0x${addr.toString(16)}`);
    }
    assert.is(index.lookup(f.value)!.symbol.value, f.value, `${f.name}: an alias at the same address`);
  }
  assert.is(index.lookup(0n), null, 'address 0 is nobody');
  assert.ok(index.frameAtFileOffset(0).startsWith('[libc.so.6+0x0]'), 'the ELF header is no function');
});

toolTest(test, 'frames of a PIE by file offset and by mapping; a stripped copy answers [file+0xoff], never a wrong name', ['gcc', 'strip'], () => {
  const elf = ElfFile.read(fixture('pie'));
  const index = new SymbolIndex(elf, 'symbols');
  const sym = (name: string) => elf.symbols().find((s) => s.name === name)!;
  const leaf = sym('leaf_static'), middle = sym('middle_global');
  assert.is(leaf.bind, 0, 'leaf_static is local');
  const leafOff = elf.addressToOffset(leaf.value)!;
  assert.is(index.frameAtFileOffset(leafOff), 'leaf_static');
  assert.is(index.frameAtFileOffset(elf.addressToOffset(middle.value)! + 3), 'middle_global+0x3');
  // As a stack would give it: the runtime address inside a mapping at a random base.
  const text = elf.loads.find((p) => p.flags & 1)!;
  const base = 0x55d1c0de0000n;
  const runtime = base + BigInt(leafOff - text.offset) + 1n;
  assert.is(index.frameInMapping(runtime, base, text.offset), 'leaf_static+0x1');

  // An uncovered spot in .text (alignment padding between functions): no name.
  const covered = (a: bigint) => elf.symbols().some((s) => s.size > 0 && s.value <= a && a < s.value + BigInt(s.size));
  const textSec = elf.section('.text')!;
  let gap: bigint | undefined;
  for (let a = textSec.addr; a < textSec.addr + BigInt(textSec.size); a++) if (!covered(a)) { gap = a; break; }
  assert.ok(gap !== undefined, '.text has padding between functions');
  const gapOff = elf.addressToOffset(gap)!;
  assert.is(index.frameAtFileOffset(gapOff), `[symbols+0x${gapOff.toString(16)}]`);

  // Stripped: leaf_static is gone, and its code must not be named after a neighbour.
  const stripped = new SymbolIndex(ElfFile.read(fixture('stripped')));
  assert.is(stripped.frameAtFileOffset(leafOff), `[symbols-stripped+0x${leafOff.toString(16)}]`);
  assert.is(stripped.lookupFileOffset(elf.addressToOffset(middle.value)!), null, 'middle_global is not exported either');
});

// ---- corrupted files ---------------------------------------------------------------------------

/** Reads everything the reader offers; returns the ElfError, or null when the file reads cleanly. */
function readAll(data: Uint8Array): ElfError | null {
  try {
    const elf = ElfFile.parse(data, 'corrupt');
    for (const s of elf.sections) elf.sectionData(s);
    elf.symbols(); elf.dynamicSymbols(); elf.relocationSections(); elf.notes(); elf.buildId();
    new SymbolIndex(elf).lookup(0x1000n);
    return null;
  } catch (e) {
    if (e instanceof ElfError) return e;
    throw new Error(`not an ElfError: ${(e as Error).stack}`);
  }
}

const expectProblem = (data: Uint8Array, problem: string, text: RegExp) => {
  const e = readAll(data);
  assert.ok(e, `expected ${problem}`);
  assert.is(e.problem, problem, e.message);
  assert.match(e.message, text);
};

test('bad headers: not ELF, ELF32, big class, truncated, tables past the end → typed errors naming what', () => {
  const ls = readFileSync(LS);
  expectProblem(Buffer.alloc(0), 'not-elf', /not an ELF file/);
  expectProblem(Buffer.from('#!/bin/sh\necho hi\n'), 'not-elf', /no ELF magic/);
  const c32 = Buffer.from(ls); c32[4] = 1;
  expectProblem(c32, 'unsupported', /ELF32.*only 64-bit/);
  const c9 = Buffer.from(ls); c9[4] = 9;
  expectProblem(c9, 'unsupported', /class 9/);
  const enc = Buffer.from(ls); enc[5] = 3;
  expectProblem(enc, 'unsupported', /data encoding 3/);
  expectProblem(ls.subarray(0, 40), 'truncated', /ELF header/);
  expectProblem(ls.subarray(0, ls.length - 100), 'truncated', /section header table/);
  const far = Buffer.from(ls); far.writeBigUInt64LE(0xffffffffffff0000n, 40);
  expectProblem(far, 'bounds', /e_shoff|past the end/);
  const many = Buffer.from(ls); many.writeUInt16LE(0xfff0, 60);
  expectProblem(many, 'truncated', /section header table \(65520 entries\)/);
  // e_shnum = 0 and section 0's sh_size claims 2^40 sections: refused before anything is allocated.
  const ext = Buffer.from(ls); ext.writeUInt16LE(0, 60);
  ext.writeBigUInt64LE(1n << 40n, Number(ext.readBigUInt64LE(40)) + 32);
  expectProblem(ext, 'truncated', /section header table/);
  const shstr = Buffer.from(ls); shstr.writeUInt16LE(500, 62);
  expectProblem(shstr, 'bounds', /section name table index 500/);
});

test('bad tables: a symbol table past the end, a name outside its string table, a note too long', () => {
  const ls = readFileSync(LS);
  const elf = ElfFile.read(LS);
  const shdr = (name: string) => elf.header.shoff + elf.section(name)!.index * 64;

  const big = Buffer.from(ls); big.writeBigUInt64LE(0x10000000n * 24n, shdr('.dynsym') + 32);
  expectProblem(big, 'bounds', /\.dynsym.*past the end/);
  const ent = Buffer.from(ls); ent.writeBigUInt64LE(16n, shdr('.dynsym') + 56);
  expectProblem(ent, 'malformed', /entry size 16, expected 24/);
  const name = Buffer.from(ls); name.writeUInt32LE(0x7fffffff, elf.section('.dynsym')!.offset + 24 + 0);
  expectProblem(name, 'bounds', /symbol 1 of "\.dynsym": name offset 2147483647/);
  const partial = new SymbolIndex(ElfFile.parse(name, 'ls'));
  assert.is(partial.size, 0, 'an unreadable table contributes nothing');
  assert.match(partial.problems[0]!, /name offset 2147483647/, 'and says why');
  const link = Buffer.from(ls); link.writeUInt32LE(999, shdr('.dynsym') + 40);
  expectProblem(link, 'bounds', /section index 999/);
  const note = elf.section('.note.gnu.build-id')!;
  const nb = Buffer.from(ls); nb.writeUInt32LE(0x10000000, note.offset + 4);
  expectProblem(nb, 'bounds', /note .* extends past/);
});

test('every truncation of /bin/ls and of a BPF-sized file, and 3000 random corruptions: only ElfErrors', () => {
  const ls = readFileSync(LS);
  let refused = 0;
  for (let len = 0; len < ls.length; len += len < 512 ? 1 : 997) if (readAll(ls.subarray(0, len))) refused++;
  assert.ok(refused > 500, `truncated copies are refused (${refused})`);
  // Seeded corruption of the header, the section header table and the symbol/string/note data.
  let seed = 0x2545f491;
  const rand = (n: number) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n; };
  const elf = ElfFile.read(LS);
  const hot = [[0, 64], [elf.header.shoff, elf.sections.length * 64], [elf.section('.dynsym')!.offset, 512], [elf.section('.dynstr')!.offset, 256], [elf.section('.note.gnu.build-id')!.offset, 36]] as const;
  let errors = 0;
  for (let i = 0; i < 3000; i++) {
    const copy = Buffer.from(ls);
    for (let k = 1 + rand(4); k > 0; k--) {
      const [from, len] = hot[rand(hot.length)]!;
      copy[from + rand(len)] = rand(256);
    }
    if (readAll(copy)) errors++;
  }
  assert.ok(errors > 100, `many corruptions are detected (${errors}/3000), the rest read without crashing`);
});

test.run();

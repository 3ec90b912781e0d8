// Naming stack frames without the process: build id → file, file offset → symbol (PIE executables,
// shared libraries, stripped files, separate debug files), bare addresses through recorded mappings and
// JIT perf maps, kernel addresses. Checked against gcc-built binaries and binutils (nm, readelf, objcopy).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfError, ElfFile, readBuildIdOfFile } from '../src/elf/index.js';
import { BuildIdLocator, KernelSymbols, PerfMap, Symbolizer, demangle, mappingAt, padBuildId, parseMaps } from '../src/symbols/index.js';
import { readelfSymbols } from './_lib/readelf.js';
import { compileFixture, hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('stacks: symbols');
const tools = hasCommand('gcc') && hasCommand('readelf') && hasCommand('objcopy');
const t = tools ? test : test.skip;
if (!tools) console.log('  [skip] gcc, readelf or objcopy missing (apt-get install gcc binutils)');

const readelfBuildId = (file: string): string => /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![1]!;

/** The file offset of the start of `name` in `file` (+ delta), from readelf's symbol table. */
function offsetOf(file: string, name: string, delta = 0): number {
  const sym = readelfSymbols(file, '.symtab').find((s) => s.name === name && s.type === 'FUNC');
  assert.ok(sym, `${name} in ${file}`);
  const off = ElfFile.read(file).addressToOffset(sym.value + BigInt(delta));
  assert.ok(off !== undefined);
  return off;
}

function fixture(): { bin: string; id: string } {
  const bin = compileFixture('stacks', ['-O0', '-fno-omit-frame-pointer']);
  return { bin, id: readelfBuildId(bin) };
}

t('readBuildIdOfFile agrees with readelf -n, reads only headers, and refuses what is not ELF64', () => {
  const { bin, id } = fixture();
  assert.is(readBuildIdOfFile(bin), id);
  for (const lib of ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6', process.execPath]) {
    let ref: string;
    try { ref = readelfBuildId(lib); } catch { continue; }
    assert.is(readBuildIdOfFile(lib), ref, lib);
  }
  const dir = join(scratchDir(), 'bad-elf');
  mkdirSync(dir, { recursive: true });
  const cases: [string, Buffer | string, string][] = [
    ['empty', Buffer.alloc(0), 'not-elf'],
    ['text', '#!/bin/sh\necho hi\n', 'not-elf'],
    ['magic-only', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), 'truncated'],
    ['elf32', Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]), Buffer.alloc(64)]), 'unsupported'],
  ];
  for (const [name, data, problem] of cases) {
    const p = join(dir, name);
    writeFileSync(p, data);
    try {
      readBuildIdOfFile(p);
      assert.unreachable(`${name} accepted`);
    } catch (e) {
      assert.instance(e, ElfError);
      assert.is((e as ElfError).problem, problem, name);
    }
  }
  // Program headers that point past the end: an error, not a crash or a read of garbage.
  const cut = join(dir, 'cut');
  const whole = ElfFile.read(bin).data;
  writeFileSync(cut, whole.subarray(0, 100));
  assert.throws(() => readBuildIdOfFile(cut), (e: unknown) => e instanceof ElfError && e.problem === 'truncated');
  assert.throws(() => readBuildIdOfFile(join(dir, 'missing')), (e: unknown) => e instanceof ElfError);
});

t('BuildIdLocator: known paths first, then a directory scan that survives junk files; short ids are padded', () => {
  const { bin, id } = fixture();
  const dir = join(scratchDir(), 'locator');
  mkdirSync(dir, { recursive: true });
  const copy = join(dir, 'renamed-binary');
  copyFileSync(bin, copy);
  writeFileSync(join(dir, 'junk.so'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0xff]));
  writeFileSync(join(dir, 'zero'), Buffer.alloc(4096));
  mkdirSync(join(dir, 'subdir'), { recursive: true });
  const known = new BuildIdLocator({ scan: false });
  known.addPath(bin);
  assert.is(known.find(id)?.path, bin);
  assert.is(known.find('ab'.repeat(20)), undefined, 'unknown id, no scan');
  const scanning = new BuildIdLocator({ searchDirs: [dir], debugDirs: [join(dir, 'nodebug')] });
  assert.is(scanning.find(id)?.path, copy, 'found by scanning the directory');
  assert.is(padBuildId('ABCD'), 'abcd' + '0'.repeat(36));
  assert.is(scanning.find(id.toUpperCase())?.path, copy);
});

t('Symbolizer: build id + offset → function (PIE), return addresses looked up one byte back, never a neighbour\'s name', () => {
  const { bin, id } = fixture();
  const locator = new BuildIdLocator({ scan: false, debugDirs: [] });
  locator.addPath(bin);
  const sym = new Symbolizer({ locator });
  for (const name of ['raw_getppid', 'path_one', 'path_two', 'path_three', 'child_main', 'main']) {
    assert.equal(sym.user({ buildId: id, offset: offsetOf(bin, name, 4) }, 1, true), { name, how: 'symtab' });
    assert.equal(sym.user({ buildId: id, offset: offsetOf(bin, name, 4) }, 1, false), { name, how: 'symtab' });
  }
  // A return address right after a function's last byte (a call as its last instruction) is its caller's.
  const f = readelfSymbols(bin, '.symtab').find((s) => s.name === 'path_two')!;
  const end = ElfFile.read(bin).addressToOffset(f.value + BigInt(f.size))!;
  assert.is(sym.user({ buildId: id, offset: end }, 1, false).name, 'path_two');
  // An offset no symbol covers: the file and offset, not the nearest name.
  const hdr = sym.user({ buildId: id, offset: 0x10 }, 1, true);
  assert.equal(hdr, { name: '[stacks+0x10]', how: 'file-offset' });
  // Past the end of the file (what a bogus frame pointer produces) and an unknown build id: unknown.
  assert.equal(sym.user({ buildId: id, offset: 0xffff_aa2b_8c2c_d000 }, 1, false), { name: '[unknown]', how: 'unknown' });
  assert.equal(sym.user({ buildId: 'cd'.repeat(20), offset: 0x1000 }, 1, false), { name: '[unknown]', how: 'unknown' });
});

t('stripped file: exported functions by .dynsym, static ones as [file+0xoff]; with its debug file, every name', () => {
  const { bin, id } = fixture();
  const dir = join(scratchDir(), 'stripped');
  mkdirSync(dir, { recursive: true });
  const stripped = join(dir, 'stacks-stripped');
  execFileSync('objcopy', ['--strip-all', bin, stripped]);
  assert.is(readBuildIdOfFile(stripped), id, 'stripping keeps the build id');
  const plain = new Symbolizer({ locator: new BuildIdLocator({ scan: false, debugDirs: [join(dir, 'none')] }) });
  plain.locator.addPath(stripped);
  const off = offsetOf(bin, 'path_one', 2);
  const got = plain.user({ buildId: id, offset: off }, 1, true);
  // -O0 functions are global but not exported: no .dynsym entry, so no name at all (never a wrong one).
  assert.equal(got, { name: `[stacks-stripped+0x${off.toString(16)}]`, how: 'file-offset' });

  const debugDir = join(dir, 'debug');
  const debugFile = join(debugDir, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
  mkdirSync(join(debugDir, '.build-id', id.slice(0, 2)), { recursive: true });
  execFileSync('objcopy', ['--only-keep-debug', bin, debugFile]);
  const withDebug = new Symbolizer({ locator: new BuildIdLocator({ scan: false, debugDirs: [debugDir] }) });
  withDebug.locator.addPath(stripped);
  assert.equal(withDebug.locator.find(id), { path: stripped, debug: debugFile });
  assert.equal(withDebug.user({ buildId: id, offset: off }, 1, true), { name: 'path_one', how: 'symtab' });
  // The debug file alone (binary gone): its program headers map no file bytes, so offsets cannot be placed.
  const onlyDebug = new Symbolizer({ locator: new BuildIdLocator({ scan: false, debugDirs: [debugDir] }) });
  assert.equal(onlyDebug.user({ buildId: id, offset: off }, 1, true), { name: '[unknown]', how: 'unknown' });
});

t('bare addresses: a recorded mapping of a file (PIE load bias), a JIT perf map, anonymous memory', () => {
  const { bin } = fixture();
  const elf = ElfFile.read(bin);
  const text = elf.loads.find((p) => p.flags & 1)!;
  const base = 0x5555_5555_0000n;
  const maps = parseMaps([
    `${(base).toString(16)}-${(base + 0x1000n).toString(16)} r--p 00000000 fe:01 1234 ${bin}`,
    `${(base + BigInt(text.offset)).toString(16)}-${(base + BigInt(text.offset) + 0x1000n).toString(16)} r-xp ${text.offset.toString(16).padStart(8, '0')} fe:01 1234 ${bin}`,
    '7f0000000000-7f0000100000 rwxp 00000000 00:00 0 ',
    '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
    'garbage line',
  ].join('\n'));
  assert.is(maps.length, 4);
  assert.is(mappingAt(maps, base + 0x10n)?.path, bin);
  assert.is(mappingAt(maps, 0x7f0000000100n)?.inode, 0);
  assert.is(mappingAt(maps, 0x1n), undefined);
  const dir = join(scratchDir(), 'perfmaps');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'perf-4242.map'), '7f0000000100 40 JS:*hotLoop /app.js:2:17\n0x7f0000000200 0x20 LazyCompile:~other\nnot a line\n7f0000000300 0 empty\n');
  const sym = new Symbolizer({ locator: new BuildIdLocator({ scan: false, debugDirs: [] }), perfMapDir: dir });
  sym.recordMaps(4242, maps);
  const mainOff = offsetOf(bin, 'main', 3);
  const ip = base + BigInt(mainOff);
  assert.equal(sym.user({ ip }, 4242, true), { name: 'main', how: 'symtab' });
  assert.equal(sym.user({ ip: 0x7f0000000120n }, 4242, true), { name: 'JS:*hotLoop /app.js:2:17', how: 'perf-map' });
  assert.equal(sym.user({ ip: 0x7f0000000210n }, 4242, false), { name: 'LazyCompile:~other', how: 'perf-map' });
  assert.equal(sym.user({ ip: 0x7f0000000150n }, 4242, true), { name: '[unknown]', how: 'unknown' }, 'between JIT functions');
  assert.equal(sym.user({ ip: 0x7ffd00000010n }, 4242, true), { name: '[unknown]', how: 'unknown' }, 'the stack is no file');
  assert.equal(sym.user({ ip }, 9999, true), { name: '[unknown]', how: 'unknown' }, 'no maps recorded for that process');
  // A perf map older than the run is another process's (same pid, earlier): not used.
  writeFileSync(join(dir, 'perf-777.map'), '7f0000000100 40 stale\n');
  utimesSync(join(dir, 'perf-777.map'), new Date(1_000_000), new Date(1_000_000));
  const fresh = new Symbolizer({ locator: new BuildIdLocator({ scan: false }), perfMapDir: dir, perfMapsSince: Date.now() - 60_000 });
  assert.is(fresh.user({ ip: 0x7f0000000110n }, 777, true).name, '[unknown]');
});

test('PerfMap: later lines win at one address, sizes bound each function', () => {
  const m = PerfMap.parse('1000 10 old\n1000 10 new\n2000 1 tiny\n');
  assert.is(m.lookup(0x1005n), 'new');
  assert.is(m.lookup(0x1010n), undefined);
  assert.is(m.lookup(0x2000n), 'tiny');
  assert.is(m.lookup(0x2001n), undefined);
  assert.is(m.lookup(0xfffn), undefined);
});

test('KernelSymbols: text symbols by address; hidden addresses (all zero) name nothing', () => {
  const k = KernelSymbols.parse('ffffffff81000000 T _stext\nffffffff81000100 t do_thing\nffffffff81000200 D some_data\nffffffff81000300 T last_fn\nffffffff81000400 T _etext\n');
  assert.is(k.lookup(0xffffffff81000150n), 'do_thing');
  assert.is(k.lookup(0xffffffff81000250n), 'do_thing', 'data symbols are not functions');
  assert.is(k.lookup(0xffffffff80000000n), undefined);
  const hidden = KernelSymbols.parse('0000000000000000 T _stext\n0000000000000000 t do_thing\n');
  assert.is(hidden.size, 0);
  assert.is(hidden.lookup(0xffffffff81000150n), undefined);
});

(hasCommand('c++filt') ? test : test.skip)('demangle: C++ names through c++filt, others untouched', () => {
  const d = demangle(['_ZN4node5StartEiPPc', 'main', '_ZN2v88internal4Heap8ScavengeEv', 'not_mangled']);
  assert.is(d.get('_ZN4node5StartEiPPc'), 'node::Start');
  assert.is(d.get('_ZN2v88internal4Heap8ScavengeEv'), 'v8::internal::Heap::Scavenge');
  assert.not.ok(d.has('main'));
  assert.is(demangle([]).size, 0);
});

test.run();

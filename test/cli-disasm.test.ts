// `denet-pure disasm`: objects (linked programs, raw sections), hex on stdin, one-line errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, CLI_ENV } from './_lib/cli.js';
import { objectPath } from './_lib/objects.js';
import { scratchDir } from './_lib/workloads.js';
import { readObject } from '../src/object/index.js';

const test = suite('cli-disasm');

function disasm(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, [CLI, 'disasm', ...args], { input, env: CLI_ENV, encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const INSN_LINE = /^\s*\d+: /;

test('an object: each program linked, maps named, subprograms marked, one line per instruction', () => {
  const r = disasm([objectPath('cilium-ebpf.subprog_reloc.o')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^fp_relocation: section xdp, type xdp, 44 slots, maps hash_map$/m);
  assert.match(r.stdout, /^\s+8: r1 = map\[hash_map\]$/m);
  assert.match(r.stdout, /^\s+12: call bpf_map_update_elem#2$/m);
  assert.match(r.stdout, /^\s+15: r2 = subprog\[\+14\]$/m);
  assert.match(r.stdout, /^; subprogram sub_prog \(\.text\)\n\s+30: /m);
  // As many instruction lines as the program has instructions (ld_imm64 is one line for two slots).
  const spec = readObject(objectPath('cilium-ebpf.subprog_reloc.o')).programs[0]!.spec;
  const wide = spec.insns.filter((i, n) => i.code === 0x18 && spec.insns[n - 1]?.code !== 0x18).length;
  assert.is(r.stdout.split('\n').filter((l) => INSN_LINE.test(l)).length, spec.insns.length - wide);
  assert.is(r.stderr, '');
});

test('global data as map[.rodata][0]+OFF; --section filters; --opcodes prefixes the opcode byte', () => {
  const r = disasm(['--section', 'socket/3', '--opcodes', objectPath('cilium-ebpf.loader.o')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^data_sections: section socket\/3/m);
  assert.not.match(r.stdout, /^no_relocation:/m, 'other sections left out');
  assert.match(r.stdout, /\(18\) r\d = map\[\.\w+(\.\w+)?\]\[0\]\+\d+/);
  const none = disasm(['--section', 'nope', objectPath('cilium-ebpf.loader.o')]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /^denet-pure: no code section "nope" in .*\(code sections: .*socket.*\)\n$/);
});

test('--raw: every code section as stored, .text included; programs that cannot be linked are shown as stored', () => {
  const r = disasm(['--raw', objectPath('cilium-ebpf.subprog_reloc.o')]);
  assert.is(r.code, 0);
  assert.match(r.stdout, /^section xdp \(30 slots, as stored\):$/m);
  assert.match(r.stdout, /^section \.text \(14 slots, as stored\):$/m);
  const k = disasm([objectPath('cilium-ebpf.kfunc.o')]);
  assert.is(k.code, 0, k.stderr);
  assert.match(k.stdout, /^call_kfunc: section tc: not linked \(.*"bpf_skb_ct_lookup": an extern function.*\); as stored:$/m);
});

test('a big-endian object disassembles like its little-endian twin', () => {
  const le = disasm([objectPath('cilium-ebpf.loader.o')]), be = disasm([objectPath('cilium-ebpf.loader-eb.o')]);
  assert.is(be.code, 0, be.stderr);
  const shape = (s: string) => s.split('\n').map((l) => l.replace(/0x[0-9a-f]+|-?\d+/g, 'N'));
  assert.equal(shape(be.stdout), shape(le.stdout));
});

test('hex on stdin (-) or in a text file', () => {
  const hex = 'b7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00\n';
  const r = disasm(['-'], hex);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '   0: r0 = 42\n   1: exit\n');
  assert.is(disasm(['--opcodes', '-'], hex).stdout, '   0: (b7) r0 = 42\n   1: (95) exit\n');
  const file = join(scratchDir(), 'prog.hex');
  writeFileSync(file, hex);
  assert.is(disasm([file]).stdout, r.stdout);
  const wide = disasm(['-'], '18 01 00 00 01 00 00 00 00 00 00 00 02 00 00 00 95 00 00 00 00 00 00 00');
  assert.is(wide.stdout, '   0: r1 = 0x200000001 ll\n   2: exit\n');
});

test('usage errors: one line, exit 2; unreadable input: one line, exit 1, never echoing the input', () => {
  for (const [args, msg] of [
    [[], /missing FILE\.o/],
    [['a.o', 'b.o'], /expected one FILE, got 2/],
    [['--bogus', 'x.o'], /unknown option '--bogus'/],
    [['--section'], /--section needs a value/],
  ] as Array<[string[], RegExp]>) {
    const r = disasm(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, msg);
    assert.is(r.stderr.trim().split('\n').length, 1, 'one line, not the help');
  }
  const raw = disasm(['--raw', '-'], 'b7 00 00 00 2a 00 00 00');
  assert.is(raw.code, 2);
  assert.match(raw.stderr, /--section and --raw need an ELF object/);
  const junk = 'zz'.repeat(500_000);
  const j = disasm(['-'], junk);
  assert.is(j.code, 1);
  assert.ok(j.stderr.length < 300 && !j.stderr.includes('zzzz'), `short, no echo: ${j.stderr.slice(0, 200)}`);
  assert.match(disasm(['-'], 'b7 00 00').stderr, /3 bytes of hex: not a whole number of 8-byte instructions/);
  assert.match(disasm(['-'], '').stderr, /no instructions/);
  const ls = disasm(['/bin/ls']);
  assert.is(ls.code, 1);
  assert.match(ls.stderr, /^denet-pure: \/bin\/ls: ELF machine 62, not BPF \(247\)/);
  const missing = disasm(['/nonexistent.o']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^denet-pure: cannot read \/nonexistent\.o: ENOENT\n$/);
  const help = disasm(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: denet-pure disasm/);
});

test.run();

// `denet-pure vm` as users run it (the built CLI): memory from a file, assembly on stdin, one-line usage
// and input errors that quote at most an excerpt of huge input, --steps as an exact limit.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI, CLI_ENV } from './_lib/cli.js';
import { ROOT } from './_lib/workloads.js';

const vm = (args: string[], input: string) => {
  const r = spawnSync(process.execPath, [CLI, 'vm', ...args], { input, encoding: 'utf8', env: CLI_ENV, timeout: 60_000, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const oneLine = (s: string): boolean => s.endsWith('\n') && s.indexOf('\n') === s.length - 1;
const dir = mkdtempSync(join(tmpdir(), 'denet-vm-'));
const t = suite('cli: vm');

t('--mem-file gives r1/r2 a memory too large for an argument (1 MiB)', () => {
  const mem = Buffer.alloc(1 << 20, 0);
  mem[mem.length - 1] = 0x5a;
  const file = join(dir, 'mem.bin');
  writeFileSync(file, mem);
  // r0 = byte at r1 + r2 - 1, plus r2
  const prog = 'r3 = r1\nr3 += r2\nr3 += -1\nr0 = *(u8 *)(r3 +0)\nr0 += r2\nexit';
  const r = vm(['--asm', '--mem-file', file], prog);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `0x${(0x5a + (1 << 20)).toString(16)}\n`);
  const missing = vm(['--mem-file', join(dir, 'nope')], 'b7 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00');
  assert.is(missing.code, 1);
  assert.ok(oneLine(missing.stderr), missing.stderr);
  assert.match(missing.stderr, /cannot read --mem-file .*ENOENT/);
});

t('usage errors are one line with exit 2, never the whole help', () => {
  const exitHex = '95 00 00 00 00 00 00 00';
  for (const [args, re] of [
    [['--frob'], /unknown option '--frob'/],
    [['--steps'], /--steps needs a value/],
    [['--steps', 'x'], /--steps needs a positive integer/],
    [['--steps', '0'], /--steps needs a positive integer/],
    [['00', '11'], /at most one MEMORY_HEX/],
    [['00', '--mem-file', '/dev/null'], /not both/],
    [['zz'], /MEMORY_HEX: 'zz' at hex digit 1 is not hex/],
  ] as Array<[string[], RegExp]>) {
    const r = vm(args, exitHex);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(oneLine(r.stderr), r.stderr);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /usage:/);
  }
  const none = vm([], '');
  assert.is(none.code, 2);
  assert.ok(oneLine(none.stderr));
  assert.match(none.stderr, /no program on stdin/);
});

t('bad programs: one line quoting a short excerpt, even of a 1 MB line', () => {
  const huge = 'r0 = ' + 'y'.repeat(1 << 20);
  const asm = vm(['--asm'], `r0 = 1\n${huge}\nexit`);
  assert.is(asm.code, 1);
  assert.ok(oneLine(asm.stderr), asm.stderr.slice(0, 200));
  assert.ok(asm.stderr.length < 400, `${asm.stderr.length} chars`);
  assert.match(asm.stderr, /line 2 `r0 = yyy.*… \(1048581 chars\)`/);
  const hex = vm([], 'b7 00 00 00 00 00 00 00 ' + 'q'.repeat(1 << 20));
  assert.is(hex.code, 1);
  assert.ok(hex.stderr.length < 300 && oneLine(hex.stderr), hex.stderr.slice(0, 200));
  const odd = vm([], 'b7 00 00 00 00 00 00');
  assert.match(odd.stderr, /7 bytes, not a whole number of 8-byte instructions/);
  const helper = vm(['--asm'], 'call bpf_does_not_exist\nexit');
  assert.is(helper.code, 1);
  assert.match(helper.stderr, /unknown helper 'bpf_does_not_exist'/);
  assert.not.match(helper.stderr, /unknown label/);
});

t('--steps N is exact: N instructions run, N+1 stop with an error naming --steps', () => {
  const five = 'r0 = 1\nr0 += 1\nr0 += 1\nr0 += 1\nexit';
  assert.is(vm(['--asm', '--steps', '5'], five).stdout, '0x4\n');
  for (const n of ['2', '4']) {
    const r = vm(['--asm', '--steps', n], five);
    assert.is(r.code, 1);
    assert.ok(oneLine(r.stderr));
    assert.match(r.stderr, new RegExp(`needs more than ${n} instructions .*raise --steps`));
    assert.not.match(r.stderr, /VmOptions/);
  }
  const loop = vm(['--asm', '--steps', '1000'], 'l:\nr0 = 0\ngoto l\nexit');
  assert.match(loop.stderr, /needs more than 1000 instructions/);
});

t('uBPF-syntax assembly and --isa rfc9669', () => {
  assert.is(vm(['--asm'], 'mov32 %r0, 7\nexit').stdout, '0x7\n');
  const callx = 'mov %r2, 5\ncall %r2\nmov %r0, 2\nexit';
  assert.is(vm(['--asm', '--isa', 'rfc9669'], callx).stdout, '0x2\n');
  const refused = vm(['--asm'], callx);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /insn 1: unknown opcode 0x8d/);
  assert.is(vm(['--isa', 'x86'], '').code, 2);
});

t('--elf runs a program of a BPF object with its maps and global data; its ring buffer records on stderr', () => {
  const obj = join(ROOT, 'test/fixtures/vm-events.bpf.o');
  const ctx = '05000000000000000200000000000000'; // ctx[0] = 5, ctx[1] = 2
  for (const sel of [[], ['--section', 'raw_tp/sys_enter'], ['--section', 'vm_events']]) {
    const r = vm(['--elf', obj, ...sel, ctx], '');
    assert.is(r.code, 0, r.stderr);
    // 5 * scale (3, .rodata) + table[2] (30, .data) + calls (0, .bss)
    assert.is(r.stdout, '0x2d\n');
    assert.is(r.stderr, 'ringbuf events: 2d000000000000000500000000000000\n');
  }
  const minimal = vm(['--elf', join(ROOT, 'test/_lib/objects/libbpf-bootstrap.minimal.o')], '');
  assert.is(minimal.stdout, '0x0\n', minimal.stderr);
  for (const [args, code, re] of [
    [['--elf', join(ROOT, 'test/_lib/objects/bcc.javagc.o')], 2, /has 4 programs: pick one with --section \(usdt \(/],
    [['--elf', join(ROOT, 'test/_lib/objects/libbpf-bootstrap.bootstrap.o'), '--section', 'handle_exec'], 1, /handle_exec\) cannot be loaded: .*CO-RE/],
    [['--elf', obj, '--section', 'nope'], 1, /no program in section or named 'nope' \(programs: raw_tp\/sys_enter \(vm_events\)\)/],
    [['--elf', join(dir, 'missing.o')], 1, /cannot read --elf .*ENOENT/],
    [['--elf', '/etc/hostname'], 1, /vm: .*(ELF|elf)/],
    [['--section', 'x'], 2, /--section needs --elf/],
    [['--elf', obj, '--asm'], 2, /exclude each other/],
  ] as Array<[string[], number, RegExp]>) {
    const r = vm(args, '');
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(oneLine(r.stderr), r.stderr);
    assert.match(r.stderr, re);
  }
});

t.run();

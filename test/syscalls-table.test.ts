import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelTest } from './_lib/privilege.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPAT_BIT, nameOf, syscallTable } from '../src/syscalls/index.js';
import { SYSCALLS as X86_64 } from '../src/syscalls/tables/x86_64.js';
import { SYSCALLS as I386 } from '../src/syscalls/tables/i386.js';
import { SYSCALLS as AARCH64 } from '../src/syscalls/tables/aarch64.js';
import { SYSCALLS as ARM } from '../src/syscalls/tables/arm.js';

const RAW = { x86_64: X86_64, i386: I386, aarch64: AARCH64, arm: ARM };
const test = suite('syscalls/table');

test('anchor numbers per architecture', () => {
  const x64 = syscallTable('x64');
  const a64 = syscallTable('arm64');
  const anchors: [number | undefined, number][] = [
    [x64.number('read'), 0], [x64.number('write'), 1], [x64.number('execve'), 59],
    [x64.number('exit_group'), 231], [x64.number('clone3'), 435], [x64.number('openat'), 257],
    [x64.compat.number('read'), 3], [x64.compat.number('execve'), 11], [x64.compat.number('exit_group'), 252],
    [a64.number('read'), 63], [a64.number('write'), 64], [a64.number('execve'), 221], [a64.number('openat'), 56],
    [a64.number('clone3'), 435],
    [a64.compat.number('read'), 3], [a64.compat.number('write'), 4], [a64.compat.number('openat'), 322],
  ];
  anchors.forEach(([got, want], i) => assert.is(got, want, `anchor #${i}`));
  // Syscalls that exist only on one side must be absent on the other.
  assert.is(a64.number('open'), undefined);
  assert.is(a64.number('fork'), undefined);
  assert.is(x64.number('mmap2'), undefined);
});

test('the newest syscalls, up to Linux 6.18, are present', () => {
  const newest = ['cachestat', 'fchmodat2', 'map_shadow_stack', 'futex_wake', 'futex_wait', 'futex_requeue',
    'statmount', 'listmount', 'lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules', 'mseal',
    'setxattrat', 'getxattrat', 'listxattrat', 'removexattrat', 'open_tree_attr', 'file_getattr', 'file_setattr'];
  const x64 = syscallTable('x86_64');
  newest.forEach((name, i) => assert.is(x64.number(name), 451 + i, name));
  // The generic numbers from 451 on are shared by every table, map_shadow_stack (x86_64 only) aside.
  for (const [arch, rows] of Object.entries(RAW)) {
    const names = new Map(rows.map(([nr, name]) => [name, nr]));
    for (const name of newest.filter((n) => n !== 'map_shadow_stack')) {
      assert.is(names.get(name), x64.number(name), `${arch} ${name}`);
    }
  }
  assert.is(x64.number('uretprobe'), 335);
  assert.is(x64.number('uprobe'), 336);
});

test('numbers and names are unique in every table and round-trip', () => {
  for (const [arch, rows] of Object.entries(RAW)) {
    assert.is(new Set(rows.map(([nr]) => nr)).size, rows.length, `${arch} numbers`);
    assert.is(new Set(rows.map(([, name]) => name)).size, rows.length, `${arch} names`);
    assert.ok(rows.length > 300, `${arch} has ${rows.length} entries`);
  }
  for (const t of [syscallTable('x64'), syscallTable('arm64')]) {
    const raw = t.arch === 'x86_64' ? [X86_64, I386] as const : [AARCH64, ARM] as const;
    for (const [nr, name] of raw[0]) {
      assert.is(t.name(nr), name);
      assert.is(t.number(name), nr);
    }
    for (const [nr, name] of raw[1]) {
      assert.is(t.compat.name(nr), `${t.compat.prefix}:${name}`);
      assert.is(t.compat.number(`${t.compat.prefix}:${name}`), nr);
      assert.is(t.compat.number(name), nr);
    }
  }
});

test('unknown numbers get a placeholder name; compat names carry their prefix', () => {
  const x64 = syscallTable('x86_64');
  assert.is(x64.name(1000), 'syscall_1000');
  assert.is(x64.compat.name(1000), 'ia32:syscall_1000');
  assert.is(x64.compat.name(3), 'ia32:read');
  assert.is(x64.name(3), 'close');
  assert.is(syscallTable('aarch64').compat.name(4), 'arm32:write');
  assert.is(x64.compat.prefix, 'ia32');
  assert.is(syscallTable('arm64').compat.prefix, 'arm32');
});

test('nameOf decodes the compat bit, signed or unsigned', () => {
  const x64 = syscallTable('x64');
  assert.is(COMPAT_BIT, 2 ** 31);
  assert.is(nameOf(x64, 3), 'close');
  assert.is(nameOf(x64, COMPAT_BIT + 3), 'ia32:read');
  assert.is(nameOf(x64, (COMPAT_BIT | 3) >> 0), 'ia32:read'); // as an int32 read from a map
  assert.is(nameOf(syscallTable('arm64'), COMPAT_BIT + 0xf0005), 'arm32:set_tls');
});

test('an unsupported architecture is a clear error; process.arch is the default', () => {
  for (const arch of ['ia32', 'riscv64', 'ppc64', '']) {
    assert.throws(() => syscallTable(arch), (e: Error) => e.message.includes(`'${arch}'`) && e.message.includes('supported'));
  }
  if (process.arch === 'x64' || process.arch === 'arm64') {
    assert.is(syscallTable().arch, process.arch === 'x64' ? 'x86_64' : 'aarch64');
  } else {
    assert.throws(() => syscallTable());
  }
});

// ausyscall (auditd) carries its own, independently maintained tables (older: up to Linux ~6.2).
// Where it names a number we also know, the names must agree, except for its known spellings.
const AUSYSCALL_SPELLINGS: Record<string, Record<number, string>> = {
  x86_64: { 17: 'pread', 18: 'pwrite' },
  i386: { 283: 'sys_kexec_load', 423: 'sched_rr_get_interval64' },
  aarch64: { 61: 'getdents', 67: 'pread', 68: 'pwrite', 80: 'newfstat' },
  arm: {
    140: 'llseek', 142: 'newselect', 149: 'sysctl', 270: 'fadvise64_64', 341: 'sync_file_range',
    423: 'sched_rr_get_interval64',
  },
};

const noAusyscall = () => (spawnSync('ausyscall', ['x86_64', '--dump'], { encoding: 'utf8' }).error
  ? 'ausyscall not installed (apt-get install auditd enables this cross-check)' : null);
kernelTest(test, 'cross-check against ausyscall', () => {
  for (const [arch, rows] of Object.entries(RAW)) {
    const ours = new Map(rows);
    const dump = spawnSync('ausyscall', [arch, '--dump'], { encoding: 'utf8' }).stdout;
    const pairs = dump.split('\n').map((l) => l.split('\t')).filter((f) => /^\d+$/.test(f[0] ?? ''));
    let agreed = 0;
    for (const [nr, name] of pairs) {
      const mine = ours.get(Number(nr));
      if (mine === name) agreed++;
      else if (mine !== undefined) assert.is(AUSYSCALL_SPELLINGS[arch]?.[Number(nr)], name, `${arch} ${nr}: ours ${mine}, ausyscall ${name}`);
    }
    // ARM's ausyscall table also lists old-ABI calls that EABI (and so arm64 compat) does not have.
    assert.ok(agreed >= pairs.length * (arch === 'arm' ? 0.9 : 0.97), `${arch}: ${agreed}/${pairs.length} agree`);
  }
}, noAusyscall);

// Live: strace -n prints the number the kernel received next to strace's own name for it.
const noStraceN = () => {
  if (process.arch !== 'x64' && process.arch !== 'arm64') return `no table check for ${process.arch}`;
  const r = spawnSync('strace', ['-n', '-qq', '-o', '/dev/null', 'true']);
  return r.error || r.status !== 0 ? 'strace with -n (strace 6.x) is not installed' : null;
};
kernelTest(test, 'cross-check against syscalls traced live with strace -n', () => {
  const dir = mkdtempSync(join(tmpdir(), 'syscalls-strace-'));
  const out = join(dir, 'trace');
  const run = spawnSync('strace', ['-n', '-f', '-qq', '-o', out, 'sh', '-c',
    'ls -la / >/dev/null; cat /proc/self/status >/dev/null; sleep 0.01; echo x | tr x y >/dev/null']);
  assert.ok(!run.error && run.status === 0, `strace ran (${run.error?.message ?? run.status})`);
  const trace = readFileSync(out, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  const table = syscallTable();
  const seen = new Map<number, string>();
  for (const m of trace.matchAll(/\[\s*(\d+)\]\s+([a-z0-9_]+)\(/g)) seen.set(Number(m[1]), m[2]!);
  assert.ok(seen.size >= 15, `only ${seen.size} distinct syscalls traced`);
  for (const [nr, name] of seen) assert.is(table.name(nr), name, `syscall ${nr}`);
}, noStraceN);

test.run();

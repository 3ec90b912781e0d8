import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CATEGORIES, categoryOf, placedNames, type Category } from '../src/syscalls/index.js';
import { SYSCALLS as X86_64 } from '../src/syscalls/tables/x86_64.js';
import { SYSCALLS as I386 } from '../src/syscalls/tables/i386.js';
import { SYSCALLS as AARCH64 } from '../src/syscalls/tables/aarch64.js';
import { SYSCALLS as ARM } from '../src/syscalls/tables/arm.js';

const ALL_NAMES = new Set([X86_64, I386, AARCH64, ARM].flatMap((rows) => rows.map(([, name]) => name)));
// Left in 'other' on purpose: reserved or never-implemented numbers, tracing trampolines,
// ARM's debugger breakpoint and mode switches, vm86, and the obsolete uselib.
const INTENTIONALLY_OTHER = [
  'afs_syscall', 'break', 'breakpoint', 'ftime', 'getpmsg', 'gtty', 'idle', 'lock', 'mpx', 'prof', 'profil',
  'putpmsg', 'security', 'stty', 'tuxcall', 'uprobe', 'uretprobe', 'uselib', 'usr26', 'usr32', 'vm86',
  'vm86old', 'vserver',
];
const test = suite('syscalls/categories');

test('the ten categories, in order', () => {
  assert.equal([...CATEGORIES], [
    'file_io', 'memory', 'process', 'network', 'time', 'ipc', 'security', 'signal', 'system', 'other',
  ]);
});

test('every syscall of every table is placed, except the listed few left in other', () => {
  const placed = placedNames();
  const unplaced = [...ALL_NAMES].filter((n) => !placed.has(n)).sort();
  assert.equal(unplaced, [...INTENTIONALLY_OTHER].sort());
  for (const name of ALL_NAMES) assert.ok(CATEGORIES.includes(categoryOf(name)), name);
});

test('every placed name is a real syscall of some table (no typos in the lists)', () => {
  const stray = [...placedNames().keys()].filter((n) => !ALL_NAMES.has(n));
  assert.equal(stray, []);
});

test('no category but other is empty, per native table', () => {
  for (const rows of [X86_64, AARCH64]) {
    const seen = new Map<Category, number>();
    for (const [, name] of rows) seen.set(categoryOf(name), (seen.get(categoryOf(name)) ?? 0) + 1);
    for (const c of CATEGORIES.filter((c) => c !== 'other')) assert.ok((seen.get(c) ?? 0) > 0, c);
  }
});

test('placements agree with the reference table', () => {
  // The reference's examples, row by row; it also lists rt_sigaction under memory, we chose signal.
  const reference: Record<Exclude<Category, 'other'>, string[]> = {
    file_io: ['read', 'write', 'open', 'close', 'lseek', 'openat'],
    memory: ['mmap', 'munmap', 'brk'],
    process: ['clone', 'fork', 'execve', 'exit', 'wait4'],
    network: ['socket', 'connect', 'accept', 'sendto', 'recvfrom'],
    time: ['nanosleep', 'gettimeofday', 'clock_gettime'],
    ipc: ['msgget', 'semget', 'shmget', 'msgsnd', 'semop'],
    security: ['chmod', 'chown', 'capget', 'capset'],
    signal: ['rt_sigaction', 'rt_sigprocmask', 'kill'],
    system: ['sysinfo', 'uname', 'reboot'],
  };
  for (const [category, names] of Object.entries(reference)) {
    for (const name of names) assert.is(categoryOf(name), category, name);
  }
});

test('documented judgement calls', () => {
  const calls: [string, Category][] = [
    ['futex', 'process'], ['futex_waitv', 'process'], ['pipe2', 'ipc'], ['eventfd2', 'ipc'],
    ['sched_yield', 'time'], ['prctl', 'process'], ['epoll_wait', 'file_io'], ['io_uring_enter', 'file_io'],
    ['memfd_create', 'memory'], ['signalfd4', 'signal'], ['timerfd_settime', 'time'], ['seccomp', 'security'],
    ['mount', 'system'], ['getrandom', 'system'], ['pidfd_send_signal', 'signal'], ['clone3', 'process'],
  ];
  for (const [name, category] of calls) assert.is(categoryOf(name), category, name);
});

test('compat prefixes are stripped; unknown names are other', () => {
  assert.is(categoryOf('ia32:read'), 'file_io');
  assert.is(categoryOf('arm32:mmap2'), 'memory');
  assert.is(categoryOf('ia32:socketcall'), 'network');
  assert.is(categoryOf('syscall_9999'), 'other');
  assert.is(categoryOf('ia32:syscall_9999'), 'other');
  assert.is(categoryOf(''), 'other');
});

test.run();

import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CATEGORIES, DOMINANT_SHARE, LOW_RATE_PER_SEC, MIN_ELAPSED_SEC, MIN_TOTAL,
  buildBySyscall, buildSyscallsBlock, buildWindowBlock, type BlockOptions,
} from '../src/syscalls/index.js';

const test = suite('syscalls/analysis');

// Counts with the given number of calls of one representative syscall per category.
function mix(parts: { io?: number; mem?: number; net?: number; time?: number; proc?: number }): Map<string, number> {
  const m = new Map<string, number>();
  if (parts.io) m.set('read', parts.io);
  if (parts.mem) m.set('mmap', parts.mem);
  if (parts.net) m.set('sendto', parts.net);
  if (parts.time) m.set('clock_gettime', parts.time);
  if (parts.proc) m.set('futex', parts.proc);
  return m;
}
const classOf = (counts: Map<string, number>, sec: number, opts?: BlockOptions) =>
  buildSyscallsBlock(counts, sec, opts).analysis.behavior_classification;

test('the thresholds are the documented ones', () => {
  assert.equal([MIN_ELAPSED_SEC, MIN_TOTAL, DOMINANT_SHARE, LOW_RATE_PER_SEC], [0.1, 100, 0.5, 10_000]);
});

test('reproduces the reference example from its category totals', () => {
  // The reference document's by_category numbers, rate and intensities (the shares). Its categories
  // add up to 270796, one more than the total it prints, so the total here is that sum.
  const counts = new Map([
    ['read', 81239], ['write', 54159], ['openat', 27079], // file_io 162477
    ['mmap', 13540], ['munmap', 27079], // memory 40619
    ['socket', 13540], ['connect', 13540], // network 27080
    ['nanosleep', 13540], ['clone', 8124], ['kill', 5416], ['uname', 5416],
    ['chmod', 2708], ['msgget', 2708], ['uretprobe', 2708],
  ]);
  const total = 270796;
  const block = buildSyscallsBlock(counts, total / 32295.16);
  assert.is(block.total, total);
  assert.equal(block.by_category, {
    file_io: 162477, memory: 40619, process: 8124, network: 27080, time: 13540,
    ipc: 2708, security: 2708, signal: 5416, system: 5416, other: 2708,
  });
  assert.equal(block.analysis, {
    behavior_classification: 'io_bound', syscall_rate_per_sec: 32295.16,
    io_intensity: 0.6, memory_intensity: 0.15, cpu_intensity: 0, network_intensity: 0.1,
  });
});

test('block shape and key order are the reference JSON', () => {
  const block = buildSyscallsBlock({ read: 5, 'ia32:write': 2 }, 1);
  assert.equal(Object.keys(block), ['total', 'by_category', 'top_syscalls', 'analysis']);
  assert.equal(Object.keys(block.by_category), [...CATEGORIES]);
  assert.equal(Object.keys(block.analysis), ['behavior_classification', 'syscall_rate_per_sec', 'io_intensity',
    'memory_intensity', 'cpu_intensity', 'network_intensity']);
  assert.is(block.by_category.file_io, 7); // the compat write counts as file_io too
  assert.equal(JSON.parse(JSON.stringify(block)), block);
});

test('Map and Record inputs agree; zero, negative and non-finite counts are dropped', () => {
  const rec = { read: 10, close: 0, mmap: -3, write: Number.NaN, kill: 4 };
  const a = buildSyscallsBlock(rec, 2);
  const b = buildSyscallsBlock(new Map(Object.entries(rec)), 2);
  assert.equal(a, b);
  assert.is(a.total, 14);
  assert.equal(a.top_syscalls, [{ name: 'read', count: 10 }, { name: 'kill', count: 4 }]);
  assert.is(a.by_category.memory, 0);
});

test('top_syscalls: count descending, then name; the top option bounds it', () => {
  const counts = { b: 5, a: 5, c: 9, d: 1, e: 2 };
  assert.equal(buildSyscallsBlock(counts, 1).top_syscalls.map((s) => s.name), ['c', 'a', 'b', 'e', 'd']);
  assert.equal(buildSyscallsBlock(counts, 1, { top: 2 }).top_syscalls.map((s) => s.name), ['c', 'a']);
  assert.equal(buildSyscallsBlock(counts, 1, { top: 0 }).top_syscalls, []);
  const many = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`s${i}`, i + 1]));
  assert.is(buildSyscallsBlock(many, 1).top_syscalls.length, 10);
});

test('rates and intensities are rounded to two decimals', () => {
  const a = buildSyscallsBlock(mix({ io: 100, mem: 100, net: 100 }), 3).analysis;
  assert.is(a.syscall_rate_per_sec, 100);
  assert.is(a.io_intensity, 0.33);
  assert.is(buildSyscallsBlock(mix({ io: 1000 }), 3).analysis.syscall_rate_per_sec, 333.33);
});

test('unknown: elapsed below MIN_ELAPSED_SEC, or too few syscalls', () => {
  const io = mix({ io: 500 });
  assert.is(classOf(io, 0.09), 'unknown');
  assert.is(classOf(io, MIN_ELAPSED_SEC), 'io_bound');
  assert.is(classOf(io, 0), 'unknown');
  assert.is(buildSyscallsBlock(io, 0).analysis.syscall_rate_per_sec, 0);
  assert.is(classOf(mix({ io: MIN_TOTAL - 1 }), 1), 'unknown');
  assert.is(classOf(mix({ io: MIN_TOTAL }), 1), 'io_bound');
  assert.is(classOf(new Map(), 1), 'unknown');
});

test('a category share of 0.5 dominates; 0.49 does not', () => {
  const idle = { cpuUsagePercent: 0 }; // measured, so the rate-only CPU estimate stays out of it
  assert.is(classOf(mix({ io: 50, time: 50 }), 1, idle), 'io_bound');
  assert.is(classOf(mix({ io: 49, time: 51 }), 1, idle), 'mixed');
  assert.is(classOf(mix({ mem: 60, time: 40 }), 1, idle), 'memory_bound');
  assert.is(classOf(mix({ mem: 49, time: 51 }), 1, idle), 'mixed');
  assert.is(classOf(mix({ net: 50, proc: 50 }), 1, idle), 'network_bound');
  assert.is(classOf(mix({ net: 49, proc: 51 }), 1, idle), 'mixed');
  // Two shares of exactly one half are a tie.
  assert.is(classOf(mix({ io: 50, net: 50 }), 1, idle), 'mixed');
  // The decision is taken on the reported (rounded) share: 0.4951 shows as 0.5 and dominates.
  const nearHalf = mix({ io: 4951, time: 5049 });
  assert.is(buildSyscallsBlock(nearHalf, 1, idle).analysis.io_intensity, 0.5);
  assert.is(classOf(nearHalf, 1, idle), 'io_bound');
  // Without any CPU figure and a low rate, an undominated mix reads as computing.
  assert.is(classOf(mix({ io: 49, time: 51 }), 1), 'cpu_bound');
});

test('cpu_bound from measured CPU: at least 50% and fewer than LOW_RATE_PER_SEC syscalls per second', () => {
  const few = mix({ io: 30, time: 20 }); // 50 syscalls over 10 s: too few to classify by shares
  assert.is(classOf(few, 10, { cpuUsagePercent: 50 }), 'cpu_bound');
  assert.is(classOf(few, 10, { cpuUsagePercent: 49 }), 'unknown');
  // Busy CPU but a syscall rate at the limit: the shares decide.
  const atLimit = mix({ io: LOW_RATE_PER_SEC });
  assert.is(classOf(atLimit, 1, { cpuUsagePercent: 100 }), 'io_bound');
  const below = mix({ io: LOW_RATE_PER_SEC - 1 });
  assert.is(classOf(below, 1, { cpuUsagePercent: 100 }), 'cpu_bound');
  assert.is(classOf(below, 1, { cpuUsagePercent: 20 }), 'io_bound');
  // A measured CPU never rescues a run that is too short.
  assert.is(classOf(few, 0.05, { cpuUsagePercent: 100 }), 'unknown');
});

test('cpu_intensity: measured CPU is capped to [0, 1]', () => {
  const counts = mix({ io: 10 });
  assert.is(buildSyscallsBlock(counts, 1, { cpuUsagePercent: 350 }).analysis.cpu_intensity, 1);
  assert.is(buildSyscallsBlock(counts, 1, { cpuUsagePercent: -5 }).analysis.cpu_intensity, 0);
  assert.is(buildSyscallsBlock(counts, 1, { cpuUsagePercent: 37.456 }).analysis.cpu_intensity, 0.37);
});

test('cpu_intensity without a CPU figure: estimated from a low syscall rate', () => {
  const spread = (perCategory: number) => mix({ io: perCategory, mem: perCategory, net: perCategory, time: perCategory });
  const at5000 = buildSyscallsBlock(spread(1250), 1).analysis; // 5,000/s -> 1 - 5000/10000
  assert.is(at5000.cpu_intensity, 0.5);
  assert.is(at5000.behavior_classification, 'cpu_bound');
  const at5100 = buildSyscallsBlock(spread(1275), 1).analysis;
  assert.is(at5100.cpu_intensity, 0.49);
  assert.is(at5100.behavior_classification, 'mixed');
  assert.is(buildSyscallsBlock(spread(5000), 1).analysis.cpu_intensity, 0);
  // The estimate never overrides a dominant category, and needs MIN_TOTAL syscalls.
  assert.is(classOf(mix({ io: 200 }), 10), 'io_bound');
  assert.is(classOf(mix({ io: 20, time: 30 }), 10), 'unknown');
  assert.is(buildSyscallsBlock(new Map(), 1).analysis.cpu_intensity, 0);
});

test('intensities stay within [0, 1] on random inputs', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const names = ['read', 'mmap', 'sendto', 'futex', 'kill', 'uname', 'ia32:write', 'syscall_999'];
  for (let i = 0; i < 200; i++) {
    const counts = new Map(names.map((n) => [n, Math.floor(rnd() * 1e6)]));
    const opts = rnd() < 0.5 ? {} : { cpuUsagePercent: rnd() * 800 - 100 };
    const { analysis, total, by_category } = buildSyscallsBlock(counts, rnd() * 100, opts);
    for (const k of ['io_intensity', 'memory_intensity', 'cpu_intensity', 'network_intensity'] as const) {
      assert.ok(analysis[k] >= 0 && analysis[k] <= 1, `${k}=${analysis[k]}`);
    }
    assert.is(Object.values(by_category).reduce((a, b) => a + b, 0), total);
  }
});

test('window block: per-name difference over the window', () => {
  const prev = new Map([['read', 100], ['mmap', 10], ['gone', 5]]);
  const cur = new Map([['read', 160], ['mmap', 10], ['sendto', 20], ['ia32:read', 20]]);
  const w = buildWindowBlock(prev, cur, 500.4);
  assert.equal(Object.keys(w), ['duration_ms', 'total', 'rate_per_sec', 'by_category', 'top_syscalls', 'by_syscall']);
  assert.equal(w.by_syscall, { read: 60, 'ia32:read': 20, sendto: 20 }, 'every syscall of the window (so windows add up)');
  assert.is(w.duration_ms, 500);
  assert.is(w.total, 100);
  assert.is(w.rate_per_sec, 199.84);
  assert.is(w.by_category.file_io, 80);
  assert.is(w.by_category.network, 20);
  assert.is(w.by_category.memory, 0);
  assert.equal(w.top_syscalls, [{ name: 'read', count: 60 }, { name: 'ia32:read', count: 20 }, { name: 'sendto', count: 20 }]);
  assert.equal(buildWindowBlock(prev, cur, 500, { top: 1 }).top_syscalls, [{ name: 'read', count: 60 }]);
});

test('window block: a counter that went backwards contributes nothing; a zero window has no rate', () => {
  const w = buildWindowBlock({ read: 50 }, { read: 40, write: 3 }, 0);
  assert.is(w.total, 3);
  assert.is(w.rate_per_sec, 0);
});

test('by_syscall: every syscall, most frequent first', () => {
  const all = buildBySyscall(new Map([['write', 3], ['read', 7], ['close', 3], ['nothing', 0]]));
  assert.equal(Object.entries(all), [['read', 7], ['close', 3], ['write', 3]]);
  assert.equal(buildBySyscall({}), {});
});

test.run();

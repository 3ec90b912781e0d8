// The /proc parsers on fixed text (tricky names, truncation) and on this very process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  clockTicksPerSec,
  pageSize,
  parseCmdline,
  parseIo,
  parseNetDev,
  parseStat,
  parseStatus,
  readChildPids,
  readIo,
  readStat,
  readStatus,
  scanParents,
  systemUptimeSecs,
} from '../src/monitor/index.js';
import { netDevTotalsBuf } from '../src/monitor/procfs-parse.js';

const p = suite('monitor procfs');

/** A stat line with the given comm; field n (man 5 proc numbering, n >= 4) holds n * 10 unless overridden. */
function statLine(pid: number, comm: string, state = 'S', over: Record<number, number> = {}, upTo = 52): string {
  const rest: string[] = [];
  for (let f = 4; f <= upTo; f++) rest.push(String(over[f] ?? f * 10));
  return `${pid} (${comm}) ${state} ${rest.join(' ')}\n`;
}

p('stat: comm with spaces and parentheses is cut at the last ")"', () => {
  for (const comm of ['a) b (c', ') S 999 ', '((x))', 'plain', 'with space']) {
    const st = parseStat(statLine(4242, comm, 'R', { 4: 77, 14: 123, 15: 45, 16: 6, 17: 7, 20: 3, 22: 98765, 23: 4096000, 24: 250, 39: 1 }));
    assert.ok(st, comm);
    assert.is(st.pid, 4242);
    assert.is(st.comm, comm);
    assert.is(st.state, 'R');
    assert.is(st.ppid, 77);
    assert.is(st.utime, 123);
    assert.is(st.stime, 45);
    assert.is(st.cutime, 6);
    assert.is(st.cstime, 7);
    assert.is(st.numThreads, 3);
    assert.is(st.starttime, 98765);
    assert.is(st.vsize, 4096000);
    assert.is(st.rss, 250);
    assert.is(st.processor, 1);
    assert.is(st.minflt, 100);
    assert.is(st.majflt, 120);
  }
});

p('stat: negative fields, UTF-8 names, truncated lines', () => {
  const st = parseStat(statLine(1, 'größe ✓', 'S', { 18: -2, 19: -20 }));
  assert.is(st!.comm, 'größe ✓');
  assert.is(st!.utime, 140);
  assert.is(parseStat('12 (x) S 1 2 3'), null);
  assert.is(parseStat('garbage'), null);
  assert.is(parseStat(statLine(5, 'old', 'S', {}, 30))!.processor, -1); // old kernels: fewer fields
});

p('status, io, cmdline, net/dev', () => {
  const status = parseStatus('Name:\tnode\nState:\tS (sleeping)\nVmSize:\t  123456 kB\nVmRSS:\t   54321 kB\nThreads:\t7\nCpus_allowed_list:\t0-3\n');
  assert.equal(status, { name: 'node', threads: 7, vmRssKb: 54321, vmSizeKb: 123456, cpusAllowedList: '0-3' });
  const io = parseIo('rchar: 11\nwchar: 22\nsyscr: 3\nsyscw: 4\nread_bytes: 5555\nwrite_bytes: 6666\ncancelled_write_bytes: 77\n');
  assert.equal(io, { rchar: 11, wchar: 22, syscr: 3, syscw: 4, readBytes: 5555, writeBytes: 6666, cancelledWriteBytes: 77 });
  assert.equal(parseCmdline('sh\0-c\0echo a b\0'), ['sh', '-c', 'echo a b']);
  assert.equal(parseCmdline(''), []);
  const net = parseNetDev(
    'Inter-|   Receive                                                |  Transmit\n' +
      ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
      '    lo:    3193      29    0    0    0     0          0         0     3100      29    0    0    0     0       0          0\n' +
      '  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n',
  );
  assert.is(net.rxBytes, 4193);
  assert.is(net.txBytes, 5100);
  assert.equal(net.interfaces.map((i) => i.name), ['lo', 'eth0']);
});

p('net/dev totals from the raw bytes agree with the text parser, on odd lines too', () => {
  const texts = [
    readFileSync('/proc/self/net/dev', 'latin1'),
    'Inter-|   Receive |  Transmit\n face |bytes|bytes\n  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n' +
      '  short: 5 6 7\n  bad: x 1 2 3 4 5 6 7 8 9\n veth-a:b: 7 0 0 0 0 0 0 0 9 0 0 0 0 0 0 0', // no final newline
    '',
  ];
  for (const t of texts) {
    const b = Buffer.from(t, 'latin1');
    const want = parseNetDev(t);
    assert.equal(netDevTotalsBuf(b, b.length), { rxBytes: want.rxBytes, txBytes: want.txBytes }, JSON.stringify(t.slice(0, 200)));
  }
});

p('this process: stat, status and io agree with node', () => {
  const st = readStat(process.pid)!;
  assert.is(st.pid, process.pid);
  assert.is(st.ppid, process.ppid);
  assert.is(st.state, 'R');
  const status = readStatus(process.pid)!;
  assert.is(st.numThreads, status.threads);
  // stat's rss (pages) and status's VmRSS (kB) are the same counter; allow for a little movement.
  const rssKb = (st.rss * pageSize()) / 1024;
  assert.ok(Math.abs(rssKb - status.vmRssKb) < 2048, `${rssKb} vs ${status.vmRssKb}`);
  assert.ok(Math.abs(status.vmRssKb * 1024 - process.memoryUsage().rss) < 4 * 1024 * 1024);
  assert.ok(readIo(process.pid)!.rchar > 0);
  // CPU time from stat vs node's own accounting (ticks are 10 ms at USER_HZ 100).
  const u = process.cpuUsage();
  const statSecs = (st.utime + st.stime) / clockTicksPerSec();
  assert.ok(Math.abs(statSecs - (u.user + u.system) / 1e6) < 0.2, `${statSecs}`);
});

p('system constants from the auxiliary vector', () => {
  assert.is(clockTicksPerSec(), 100);
  const ps = pageSize();
  assert.ok(ps >= 4096 && (ps & (ps - 1)) === 0, String(ps));
  assert.ok(systemUptimeSecs() > 0);
});

p('vanished processes give null, never an exception', () => {
  const dead = 2 ** 22 + 4321;
  assert.is(readStat(dead), null);
  assert.is(readStatus(dead), null);
  assert.is(readIo(dead), null);
});

p('children files over all threads; null when the kernel lacks them; ppid scan fallback', () => {
  const root = mkdtempSync(join(tmpdir(), 'denet-fakeproc-'));
  try {
    const mk = (path: string, text: string) => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    mk('42/task/42/children', '43 44 ');
    mk('42/task/45/children', '46 ');
    mk('50/task/50/comm', 'x\n');
    mk('42/stat', statLine(42, 'a', 'S', { 4: 1 }));
    mk('43/stat', statLine(43, 'b', 'S', { 4: 42 }));
    mk('46/stat', statLine(46, 'c (d)', 'S', { 4: 42 }));
    assert.equal(readChildPids(42, root)!.sort(), [43, 44, 46]);
    assert.is(readChildPids(50, root), null);
    assert.equal(readChildPids(99, root), []);
    const parents = scanParents(root);
    assert.equal([...parents.entries()].sort((a, b) => a[0] - b[0]), [[42, 1], [43, 42], [46, 42]]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

p.run();

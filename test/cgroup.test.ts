// attach --cgroup on cgroups the tests create: a workload that moves itself in is counted exactly as
// strace -f counts it (a storm outside the cgroup, strace itself included, not at all); processes
// already inside at attach time are followed; removing the cgroup ends monitoring; and every way of
// naming something that is not a cgroup v2 is one clear line.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cgroup2Mounts } from '../src/monitor/cgroup.js';
import { CLI, CLI_ENV, readRecords, runCli, type Rec } from './_lib/cli.js';
import { bpfUnavailableReason, kernelTest } from './_lib/privilege.js';
import { sleep, waitFor } from './_lib/wait.js';
import { compileFixture, exited, hasCommand, parseStraceSummary, scratchDir } from './_lib/workloads.js';

const test = suite('attach --cgroup');

const MOUNT = cgroup2Mounts()[0];

function cgroupReason(): string | null {
  if (!MOUNT) return 'no cgroup2 file system is mounted';
  if (process.getuid?.() !== 0) return 'creating cgroups needs root';
  return null;
}
const needCgroup = () => cgroupReason();
const needKernel = () => bpfUnavailableReason() ?? cgroupReason()
  ?? (hasCommand('strace') ? null : 'strace is not installed') ?? (hasCommand('gcc') ? null : 'gcc is not installed')
  ?? (['x64', 'arm64'].includes(process.arch) ? null : `cgjoin is built for x86_64 and aarch64, not ${process.arch}`);

let seq = 0;
/** A fresh cgroup with a child cgroup `sub`; remove() kills what we left in them and removes both. */
function makeCgroup(): { dir: string; sub: string; remove(): void } {
  const dir = join(MOUNT!, `denet-test-${process.pid}-${++seq}`);
  const sub = join(dir, 'sub');
  mkdirSync(sub, { recursive: true });
  return {
    dir, sub,
    remove() {
      for (const d of [sub, dir]) {
        if (!existsSync(d)) continue;
        for (let i = 0; i < 50; i++) {
          const pids = readFileSync(join(d, 'cgroup.procs'), 'latin1').split('\n').filter(Boolean).map(Number);
          if (pids.length === 0) break;
          // Only processes this test started are in its cgroups.
          for (const p of pids) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ }
          spawnSync('sleep', ['0.1']);
        }
        try { rmdirSync(d); } catch { /* still busy: left for the machine's cleanup */ }
      }
    },
  };
}

function startAttach(args: string[]): { child: ChildProcess; out: string; stderr: () => string } {
  const out = join(scratchDir(), `cgroup-${process.pid}-${++seq}.jsonl`);
  const child = spawn(process.execPath, [CLI, '-q', '--out', out, ...args], { env: CLI_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c) => (err += c));
  return { child, out, stderr: () => err };
}

/** Monitoring has begun: the metadata record is in the file. */
async function started(out: string): Promise<void> {
  await waitFor(() => existsSync(out) && readFileSync(out, 'utf8').includes('"kind":"metadata"'), 30_000);
}

for (const mode of ['raw', 'tracefs'] as const) {
  kernelTest(test, `${mode}: a workload that joins a descendant cgroup later is counted exactly as strace -f counts it; a storm outside is not`, async () => {
    const cgjoin = compileFixture('cgjoin', ['-nostdlib', '-static', '-fno-stack-protector']);
    const workload = compileFixture('workload');
    const cg = makeCgroup();
    const { child, out, stderr } = startAttach(['--ebpf-attach', mode, 'attach', '--cgroup', cg.dir]);
    try {
      await started(out);
      // Outside the cgroup, at the same time: a storm of 1-byte reads and writes, and strace itself.
      const storm = spawn('dd', ['if=/dev/zero', 'of=/dev/null', 'bs=1', 'count=50000'], { stdio: 'ignore' });
      const straceOut = join(scratchDir(), `cg-strace-${process.pid}-${seq}.txt`);
      const st = spawn('strace', ['-f', '-qq', '-c', '-o', straceOut, cgjoin, join(cg.sub, 'cgroup.procs'), workload, '3', '1000'], { stdio: 'ignore' });
      assert.is(await exited(st), 0, 'the workload ran under strace');
      assert.is(await exited(storm), 0);
      // The next samples read the exits of the workload's four processes (a signal ends monitoring
      // without one more sample).
      const records = () => readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('"kind":"process"')).length;
      await waitFor(() => records() >= 4, 15_000);
      child.kill('SIGINT');
      assert.is(await exited(child), 130, stderr());
      const recs = readRecords(out);
      const meta = recs[0]!;
      assert.is(meta.kind, 'metadata');
      assert.is(meta.cgroup, '/' + cg.dir.slice(MOUNT!.length + 1));
      assert.is(meta.capabilities.ebpf.mode, mode);
      const summary = recs.at(-1)!;
      assert.is(summary.kind, 'summary');
      const ours = summary.ebpf.syscalls.by_syscall as Record<string, number>;
      // strace also counts cgjoin's own life before it is in the cgroup: its execve, openat and write.
      const expected = parseStraceSummary(straceOut);
      for (const name of ['execve', 'openat', 'write']) expected.set(name, expected.get(name)! - 1);
      const diffs: string[] = [];
      for (const name of new Set([...expected.keys(), ...Object.keys(ours)])) {
        if (name === 'exit_group' || name === 'exit') continue; // strace -c does not list them
        if ((expected.get(name) ?? 0) !== (ours[name] ?? 0)) diffs.push(`${name}: strace ${expected.get(name) ?? 0}, ours ${ours[name] ?? 0}`);
      }
      assert.equal(diffs, [], 'every syscall counted as strace counts it');
      assert.is(ours.getppid, 3000);
      assert.is(summary.ebpf.losses.processes_untracked, 0);
      // The workload, its two children and the grandchild; none of the outside processes.
      const procs = recs.filter((r: Rec) => r.kind === 'process');
      assert.is(procs.length, 4, JSON.stringify(procs.map((p: Rec) => p.command)));
      assert.not.ok(procs.some((p: Rec) => /dd|strace/.test(p.command)));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      cg.remove();
    }
  }, needKernel);
}

kernelTest(test, '100 processes that join and exit within a millisecond or two: each one counted from its first syscall inside, none lost', async () => {
  const cgjoin = compileFixture('cgjoin', ['-nostdlib', '-static', '-fno-stack-protector']);
  const cg = makeCgroup();
  const { child, out, stderr } = startAttach(['--enable-ebpf', 'attach', '--cgroup', cg.dir]);
  try {
    await started(out);
    // Two at a time, from a shell outside the cgroup: join, exec /bin/true, exit.
    const n = 100;
    const sh = spawn('sh', ['-c', `i=0; while [ $i -lt ${n / 2} ]; do "$0" "$1" /bin/true & "$0" "$1" /bin/true; wait; i=$((i+1)); done`, cgjoin, join(cg.sub, 'cgroup.procs')], { stdio: 'ignore' });
    assert.is(await exited(sh), 0);
    await sleep(300);
    child.kill('SIGINT');
    assert.is(await exited(child), 130, stderr());
    const summary = readRecords(out).at(-1)!;
    const by = summary.ebpf.syscalls.by_syscall as Record<string, number>;
    // Inside the cgroup each did: execve(/bin/true) ... exit_group. Nothing of the shell outside.
    assert.is(by.execve, n, JSON.stringify(by));
    assert.is(by.exit_group, n);
    assert.is(by.wait4, undefined, 'the shell outside is not counted');
    assert.is(summary.ebpf.losses.processes_untracked, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    cg.remove();
  }
}, needKernel);

kernelTest(test, 'processes already in the cgroup at attach are followed (kernel and /proc), with their descendants', async () => {
  const cg = makeCgroup();
  const resident = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs"; while :; do sleep 0.2; done', cg.sub], { stdio: 'ignore' });
  try {
    await waitFor(() => readFileSync(join(cg.sub, 'cgroup.procs'), 'latin1').includes(String(resident.pid)));
    const { child, out, stderr } = startAttach(['--enable-ebpf', '-d', '3', '--prometheus', '127.0.0.1:0', 'attach', '--cgroup', cg.dir]);
    // The exporter names the cgroup as its target and counts the resident's processes.
    await waitFor(() => /\/metrics/.test(stderr()), 30_000);
    const port = Number(/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr())![1]);
    const path = '/' + cg.dir.slice(MOUNT!.length + 1);
    let body = '';
    for (let i = 0; i < 40 && !/^denet_syscalls_total\{syscall="execve"/m.test(body); i++) {
      await sleep(100);
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    }
    assert.match(body, new RegExp(`^denet_processes\\{target="${path}"\\} [1-9]`, 'm'));
    assert.match(body, new RegExp(`^denet_syscalls_total\\{syscall="execve",category="process",target="${path}"\\} [1-9]`, 'm'));
    assert.is(await exited(child), 0, stderr());
    const recs = readRecords(out);
    const trees = recs.filter((r: Rec) => r.kind === 'tree');
    assert.ok(trees.length >= 3);
    assert.ok(trees.every((t: Rec) => t.aggregated.process_count >= 1), 'the resident shell is always there');
    assert.ok(trees.some((t: Rec) => t.children.some((c: Rec) => c.pid === resident.pid)));
    const summary = recs.at(-1)!;
    const by = summary.ebpf.syscalls.by_syscall as Record<string, number>;
    // About ten sleeps forked and exec'd in 2 s.
    assert.ok((by.execve ?? 0) >= 5 && (by.wait4 ?? 0) >= 5, JSON.stringify(by));
    assert.ok(recs.some((r: Rec) => r.kind === 'process' && r.command.startsWith('sleep') && r.figures === 'kernel'));
  } finally {
    resident.kill('SIGKILL');
    await exited(resident);
    cg.remove();
  }
}, () => bpfUnavailableReason() ?? cgroupReason());

kernelTest(test, 'without eBPF: a process that joins later is followed from /proc; removing the cgroup ends monitoring (exit 0)', async () => {
  const cg = makeCgroup();
  const { child, out, stderr } = startAttach(['attach', '--cgroup', cg.dir]);
  try {
    await started(out);
    const joiner = spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs"; i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done', cg.sub], { stdio: 'ignore' });
    assert.is(await exited(joiner), 0);
    await sleep(1500);
    rmdirSync(cg.sub);
    rmdirSync(cg.dir);
    const code = await Promise.race([exited(child), sleep(15_000).then(() => 'still running')]);
    assert.is(code, 0, stderr());
    const recs = readRecords(out);
    assert.is(recs.at(-1)!.kind, 'summary');
    const seen = recs.filter((r: Rec) => r.kind === 'tree').some((t: Rec) => t.children.some((c: Rec) => c.pid === joiner.pid));
    assert.ok(seen, 'the joiner appears in a sample');
    const rec = recs.find((r: Rec) => r.kind === 'process' && r.pid === joiner.pid);
    assert.ok(rec && rec.cpu_time_secs > 0, 'its process record carries its CPU');
    assert.is(recs.at(-1)!.ebpf, undefined);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    cg.remove();
  }
}, needCgroup);

test('what is not a cgroup v2 is one clear line with its exit code', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['attach', '--cgroup', '/tmp'], 2, /\/tmp is not a cgroup \(it is a directory on \w+\); give a directory under /],
    [['attach', '--cgroup', 'no-such-cgroup-here'], 3, /^denet-pure: no such cgroup: no-such-cgroup-here/],
    [['attach', '--cgroup', '/', '1'], 2, /a PID or --cgroup PATH, not both/],
    [['--exclude-children', 'attach', '--cgroup', '/'], 2, /--exclude-children does not apply to --cgroup/],
    [['run', '--cgroup', '/', '--', 'true'], 2, /--cgroup applies to attach only/],
    [['attach', '--cgroup='], 2, /--cgroup needs a cgroup/],
  ];
  if (!MOUNT) cases.splice(0, 2);
  for (const [args, code, line] of cases) {
    const r = runCli(args);
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, line);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
  // A cgroup v1 hierarchy, where the machine has one.
  const v1 = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' - ')).find((p) => p[1]?.startsWith('cgroup '));
  if (v1 && MOUNT) {
    const point = v1[0]!.split(' ')[4]!;
    const r = runCli(['attach', '--cgroup', point]);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`is in a cgroup v1 hierarchy .*mounted here at ${MOUNT}`));
  }
});

kernelTest(test, 'without a cgroup2 mount (a mount namespace without it): the error names what is missing', () => {
  const script = `${cgroup2Mounts().map((m) => `umount -l '${m}'`).join('; ')}; exec "$0" "$@"`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, process.execPath, CLI, 'attach', '--cgroup', 'system.slice'], { encoding: 'utf8', env: CLI_ENV });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^denet-pure: cgroup v2 is not mounted here \(no cgroup2 file system in \/proc\/self\/mountinfo\); --cgroup needs the unified hierarchy/);
}, () => cgroupReason() ?? (hasCommand('unshare') ? null : 'unshare is not installed'));

test.run();

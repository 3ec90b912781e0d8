// Session.attach to a process that exited between the caller's look at it and the start of
// monitoring (e.g. while the tracer was being loaded): a typed error, not an empty run that "succeeded".
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Session, TargetError, type MonitorRecord, type SessionOptions } from '../src/index.js';
import { kernelTest } from './_lib/privilege.js';
import { waitFor } from './_lib/wait.js';
import { exited } from './_lib/workloads.js';

const test = suite('session attach: a target gone before monitoring began');

function state(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

async function attach(opts: SessionOptions, pid: number): Promise<{ recs: MonitorRecord[]; err: unknown }> {
  const recs: MonitorRecord[] = [];
  const session = await Session.open(opts, { record: (r) => recs.push(r) });
  const err = await session.attach(pid, { cmd: [], executable: '' }).then(() => null, (e: unknown) => e);
  return { recs, err };
}

async function zombieAndLive(opts: SessionOptions): Promise<void> {
  // `true` exits at once; sleep (which sh became) never reaps it: it stays a zombie for the test.
  const parent = spawn('sh', ['-c', 'true & exec sleep 600'], { stdio: 'ignore' });
  try {
    let zombie = 0;
    await waitFor(() => {
      zombie = Number(readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(' ')[0] || 0);
      return zombie > 0 && state(zombie) === 'Z';
    }, 30_000);
    const gone = await attach(opts, zombie);
    assert.instance(gone.err, TargetError);
    assert.is((gone.err as TargetError).why, 'ended');
    assert.match((gone.err as Error).message, `process ${zombie} exited while monitoring was being set up`);
    assert.equal(gone.recs, [], 'nothing recorded');
  } finally {
    parent.kill('SIGKILL');
    await exited(parent);
  }
  // A live target, by contrast, is monitored to its end: the check refuses only what is gone.
  const live = spawn('sleep', ['0.5'], { stdio: 'ignore' });
  const end = exited(live);
  const ok = await attach(opts, live.pid!);
  await end;
  assert.is(ok.err, null);
  assert.equal([ok.recs[0]?.kind, ok.recs.at(-1)?.kind], ['metadata', 'summary']);
}

test('without eBPF: a zombie target is refused with TargetError (ended), nothing recorded', () => zombieAndLive({}));

kernelTest(test, 'with eBPF: a zombie target is refused with TargetError (ended) once tracked, nothing recorded', () =>
  zombieAndLive({ ebpf: { attach: 'auto', required: true } }));

test.run();

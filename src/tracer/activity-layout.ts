// Where the scheduler and socket programs find what they read, from kernel BTF. Both need raw
// tracepoints and BTF; each is left out (with the reason) where the kernel lacks what it needs.
import type { Btf } from '../loader/index.js';
import type { TaskOffsets } from './activity-maps.js';
import type { SchedLayout } from './sched.js';
import type { NetLayout } from './net.js';

export type Availability<T> = { layout: T; reason?: undefined } | { layout?: undefined; reason: string };

function taskOffsets(btf: Btf): TaskOffsets {
  const pid = btf.memberOffset('task_struct', 'pid');
  if (btf.memberOffset('task_struct', 'tgid') !== pid + 4) throw new Error('task_struct.tgid does not follow pid');
  return { pid, groupLeader: btf.memberOffset('task_struct', 'group_leader'), startBoottime: btf.memberOffset('task_struct', 'start_boottime') };
}

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function schedLayout(btf: Btf): Availability<SchedLayout> {
  try {
    const task = taskOffsets(btf);
    for (const tp of ['sched_wakeup', 'sched_wakeup_new']) btf.rawTracepointArgCount(tp);
    const args = btf.rawTracepointArgCount('sched_switch');
    let taskState: number;
    try { taskState = btf.memberOffset('task_struct', '__state'); } catch { taskState = btf.memberOffset('task_struct', 'state'); }
    let inIowait: SchedLayout['inIowait'];
    try {
      const m = btf.member('task_struct', 'in_iowait');
      // A little-endian bitfield: bit k of the containing storage is bit k % 8 of byte k / 8.
      inIowait = { byte: Math.floor(m.bitOffset / 8), mask: 1 << (m.bitOffset % 8) };
    } catch { /* no I/O-wait split */ }
    return { layout: { task, prevStateArg: args >= 4, taskState, inIowait } };
  } catch (err) {
    return { reason: `the kernel's BTF lacks what the scheduler programs read (${why(err)})` };
  }
}

export function netLayout(btf: Btf): Availability<NetLayout> {
  try {
    btf.rawTracepointArgCount('sock_send_length');
    btf.rawTracepointArgCount('sock_recv_length');
  } catch {
    return { reason: 'the kernel has no sock_send_length/sock_recv_length tracepoints (Linux 6.3+)' };
  }
  try {
    return {
      layout: {
        task: taskOffsets(btf),
        skFamily: btf.memberOffset('sock', '__sk_common') + btf.memberOffset('sock_common', 'skc_family'),
        skProtocol: btf.memberOffset('sock', 'sk_protocol'),
      },
    };
  } catch (err) {
    return { reason: `the kernel's BTF lacks what the socket programs read (${why(err)})` };
  }
}

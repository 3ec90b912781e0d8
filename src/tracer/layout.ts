// Works out, on the running kernel, where each program finds what it needs: from kernel BTF for raw
// tracepoints (no tracefs needed), or from the tracefs format files for tracefs tracepoints.
// Nothing here comes from kernel headers.
import { Btf, tracepointFormat } from '../loader/index.js';
import { syscallTable } from '../syscalls/index.js';
import type { ExitLayout, ForkLayout, SysEnterLayout, SysExitLayout } from './programs.js';
import type { ExitOffsets } from './exits.js';
import { netLayout, schedLayout, type Availability } from './activity-layout.js';
import type { SchedLayout } from './sched.js';
import type { NetLayout } from './net.js';

export interface TracerLayout {
  mode: 'raw' | 'tracefs';
  sysEnter: SysEnterLayout;
  /** Absent: this kernel's tracefs has no raw_syscalls/sys_exit we can read (detail mode unavailable). */
  sysExit?: SysExitLayout;
  fork: ForkLayout;
  exit: ExitLayout;
  /** The scheduler (off-CPU, run-queue) and socket programs: their layout, or why they cannot run here. */
  sched?: Availability<SchedLayout>;
  net?: Availability<NetLayout>;
}

const RAW_ONLY = 'needs raw tracepoints and kernel BTF (the tracefs attach mode has neither)';

/** Where the user-mode segment / PSTATE sits in struct pt_regs (a stable ABI), and its 32-bit value. */
const COMPAT_REGS: Record<string, { regsOffset: number; mask: number; compatValue: number }> = {
  // x86_64 pt_regs: r15..orig_ax, ip, cs at 17*8; __USER32_CS = 0x23.
  x64: { regsOffset: 136, mask: 0xffff, compatValue: 0x23 },
  // arm64 pt_regs: regs[31], sp, pc, pstate at 34*8; PSR_MODE32_BIT = 0x10.
  arm64: { regsOffset: 264, mask: 0x10, compatValue: 0x10 },
};

function execveNumbers(): { execveNr: number; execveatNr: number; compat?: SysEnterLayout['compat'] } {
  const table = syscallTable();
  const nr = (t: { number(name: string): number | undefined }, name: string) => {
    const n = t.number(name);
    if (n === undefined) throw new Error(`no ${name} in the ${table.arch} syscall table`);
    return n;
  };
  const regs = COMPAT_REGS[process.arch];
  return {
    execveNr: nr(table, 'execve'),
    execveatNr: nr(table, 'execveat'),
    compat: regs,
  };
}

/**
 * Where an exiting task's figures are, from BTF; undefined when a field the accounting cannot do
 * without is missing (then exits are not accounted and the monitor uses /proc alone).
 */
export function exitOffsets(btf: Btf, beforeExitMm: boolean): ExitOffsets | undefined {
  try {
    const off = (s: string, m: string) => btf.memberOffset(s, m);
    const opt = (s: string, m: string) => { try { return btf.memberOffset(s, m); } catch { return -1; } };
    let ioac = -1, ioacSize = 0;
    try {
      ioac = off('task_struct', 'ioac');
      ioacSize = btf.structSize('task_io_accounting');
    } catch { /* CONFIG_TASK_IO_ACCOUNTING/XACCT off: I/O stays /proc's */ }
    return {
      sumExecRuntime: off('task_struct', 'se') + off('sched_entity', 'sum_exec_runtime'),
      ioac,
      ioacSize: Math.min(ioacSize, 56),
      rchar: ioac >= 0 ? opt('task_io_accounting', 'rchar') : -1,
      wchar: ioac >= 0 ? opt('task_io_accounting', 'wchar') : -1,
      readBytes: ioac >= 0 ? opt('task_io_accounting', 'read_bytes') : -1,
      writeBytes: ioac >= 0 ? opt('task_io_accounting', 'write_bytes') : -1,
      cancelledWriteBytes: ioac >= 0 ? opt('task_io_accounting', 'cancelled_write_bytes') : -1,
      minFlt: off('task_struct', 'min_flt'),
      majFlt: off('task_struct', 'maj_flt'),
      exitCode: off('task_struct', 'exit_code'),
      groupLeader: off('task_struct', 'group_leader'),
      startBoottime: off('task_struct', 'start_boottime'),
      realParent: off('task_struct', 'real_parent'),
      tgid: off('task_struct', 'tgid'),
      comm: off('task_struct', 'comm'),
      signal: off('task_struct', 'signal'),
      sigMaxrss: off('signal_struct', 'maxrss'),
      mmRss: beforeExitMm ? mmRssOffsets(btf) : undefined,
    };
  } catch {
    return undefined;
  }
}

/** task->mm and the resident-page counters of an mm (percpu_counter rss_stat[], Linux 6.2+). */
function mmRssOffsets(btf: Btf): ExitOffsets['mmRss'] {
  try {
    const stat = btf.memberOffset('mm_struct', 'rss_stat');
    const counter = btf.structSize('percpu_counter');
    const count = btf.memberOffset('percpu_counter', 'count');
    // enum mm_counters: MM_FILEPAGES 0, MM_ANONPAGES 1, MM_SWAPENTS 2 (not resident), MM_SHMEMPAGES 3.
    return {
      mm: btf.memberOffset('task_struct', 'mm'),
      hiwaterRss: btf.memberOffset('mm_struct', 'hiwater_rss'),
      rssCounts: [0, 1, 3].map((i) => stat + i * counter + count),
    };
  } catch {
    return undefined;
  }
}

/** Raw tracepoints: context = the tracepoint's arguments as u64s; task fields located through BTF. */
export function rawLayout(): TracerLayout {
  const btf = Btf.vmlinux();
  const taskPidOffset = btf.memberOffset('task_struct', 'pid');
  const taskTgidOffset = btf.memberOffset('task_struct', 'tgid');
  // sched_process_exit(task, group_dead) since Linux 6.16; before, only (task).
  const exitArgs = btf.rawTracepointArgCount('sched_process_exit');
  return {
    mode: 'raw',
    sysEnter: { type: 'raw', idOffset: 8, ctxSize: 16, ...execveNumbers() },
    // sys_exit(regs, ret)
    sysExit: { type: 'raw', retOffset: 8, ctxSize: 16 },
    fork: { type: 'raw', taskPidOffset, taskTgidOffset, ctxSize: 16 },
    exit: { type: 'raw', groupDeadOffset: exitArgs >= 2 ? 8 : undefined, ctxSize: 8 * Math.max(1, exitArgs), accounting: exitOffsets(btf, exitArgs >= 2) },
    sched: schedLayout(btf),
    net: netLayout(btf),
  };
}

/** tracefs tracepoints: context = the trace record, laid out as its format file says. */
export function tracefsLayout(tracefsPath: string): TracerLayout {
  const field = (group: string, event: string, name: string) => {
    const format = tracepointFormat(group, event, tracefsPath);
    const f = format.fields.find((x) => x.name === name);
    if (!f) throw new Error(`tracepoint ${group}/${event} has no field '${name}' on this kernel`);
    return { f, size: format.size };
  };
  const id = field('raw_syscalls', 'sys_enter', 'id');
  const pid = field('task', 'task_newtask', 'pid');
  const flags = field('task', 'task_newtask', 'clone_flags');
  const exitFormat = tracepointFormat('sched', 'sched_process_exit', tracefsPath);
  const groupDead = exitFormat.fields.find((x) => x.name === 'group_dead');
  let sysExit: SysExitLayout | undefined;
  try {
    const ret = field('raw_syscalls', 'sys_exit', 'ret');
    sysExit = { type: 'tracefs', retOffset: ret.f.offset, ctxSize: ret.size };
  } catch { /* no readable sys_exit record: counting still works */ }
  return {
    mode: 'tracefs',
    // tracefs records carry no pt_regs pointer: compat tasks cannot be told apart in this mode.
    sysEnter: { type: 'tracefs', idOffset: id.f.offset, ctxSize: id.size, ...execveNumbers(), compat: undefined },
    sysExit,
    fork: { type: 'tracefs', pidOffset: pid.f.offset, pidSize: pid.f.size, cloneFlagsOffset: flags.f.offset, ctxSize: pid.size },
    exit: { type: 'tracefs', groupDeadOffset: groupDead?.offset, ctxSize: exitFormat.size, accounting: tracefsExitOffsets() },
    sched: { reason: RAW_ONLY },
    net: { reason: RAW_ONLY },
  };
}

/** tracefs mode is the fallback for kernels without BTF; where BTF is readable all the same, exits are accounted. */
function tracefsExitOffsets(): ExitOffsets | undefined {
  try {
    const btf = Btf.vmlinux();
    // The tracepoint moved before exit_mm when it gained group_dead (6.16).
    return exitOffsets(btf, btf.rawTracepointArgCount('sched_process_exit') >= 2);
  } catch {
    return undefined;
  }
}

// Works out, on the running kernel, where each program finds what it needs: from kernel BTF for raw
// tracepoints (no tracefs needed), or from the tracefs format files for tracefs tracepoints.
// Nothing here comes from kernel headers.
import { Btf, tracepointFormat } from '../loader/index.js';
import { syscallTable } from '../syscalls/index.js';
import type { ExitLayout, ForkLayout, SysEnterLayout } from './programs.js';

export interface TracerLayout {
  mode: 'raw' | 'tracefs';
  sysEnter: SysEnterLayout;
  fork: ForkLayout;
  exit: ExitLayout;
}

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
    fork: { type: 'raw', taskPidOffset, taskTgidOffset, ctxSize: 16 },
    exit: { type: 'raw', groupDeadOffset: exitArgs >= 2 ? 8 : undefined, ctxSize: 8 * Math.max(1, exitArgs) },
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
  return {
    mode: 'tracefs',
    // tracefs records carry no pt_regs pointer: compat tasks cannot be told apart in this mode.
    sysEnter: { type: 'tracefs', idOffset: id.f.offset, ctxSize: id.size, ...execveNumbers(), compat: undefined },
    fork: { type: 'tracefs', pidOffset: pid.f.offset, pidSize: pid.f.size, cloneFlagsOffset: flags.f.offset, ctxSize: pid.size },
    exit: { type: 'tracefs', groupDeadOffset: groupDead?.offset, ctxSize: exitFormat.size },
  };
}

// Synthetic tracer layouts for the WASM tests: x86_64 numbers; the offsets are made up (the simulator
// supplies the memory they point into) except the tracefs record layouts, which are those of 6.x.
import type { TracerLayout } from '../../src/tracer/layout.js';

export const NR = { read: 0, write: 1, close: 3, getpid: 39, clone: 56, execve: 59, exit: 60, getppid: 110, exit_group: 231, openat: 257, execveat: 322 };
export const I386 = { getpid: 20, execve: 11, execveat: 358 };

export const RAW: TracerLayout = {
  mode: 'raw',
  sysEnter: {
    type: 'raw', idOffset: 8, ctxSize: 16, execveNr: NR.execve, execveatNr: NR.execveat,
    compat: { regsOffset: 136, mask: 0xffff, compatValue: 0x23 },
  },
  sysExit: { type: 'raw', retOffset: 8, ctxSize: 16 },
  fork: { type: 'raw', taskPidOffset: 0x4f0, taskTgidOffset: 0x4f4, ctxSize: 16 },
  exit: { type: 'raw', groupDeadOffset: 8, ctxSize: 16 },
};
// raw_syscalls/sys_enter, raw_syscalls/sys_exit, task/task_newtask and sched/sched_process_exit on 6.x.
export const TRACEFS: TracerLayout = {
  mode: 'tracefs',
  sysEnter: { type: 'tracefs', idOffset: 8, ctxSize: 64, execveNr: NR.execve, execveatNr: NR.execveat },
  sysExit: { type: 'tracefs', retOffset: 16, ctxSize: 24 },
  fork: { type: 'tracefs', pidOffset: 8, pidSize: 4, cloneFlagsOffset: 32, ctxSize: 42 },
  exit: { type: 'tracefs', groupDeadOffset: 32, ctxSize: 33 },
};

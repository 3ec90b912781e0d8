// The syscall-counting BPF programs, written with our assembler DSL.
//
// Three programs share six maps:
//   tracked  tgid -> state   the processes we count (the filter lives in the kernel)
//   rows     slot*ROW + nr -> u64   the counters of the first `maxSlots` processes: an array, because an
//            array lookup costs a fraction of a hash lookup on the syscall hot path
//   slots    slot -> tgid    which process owns each row (slots are handed out in the kernel)
//   counts   {tgid, nr} -> u64   the counters of everything else (more processes, rare numbers)
//   stats    index -> u64    drop counters, so a full map is reported instead of silently miscounting;
//                            and the epoch, bumped after every change to `tracked`
//   cache    per CPU: the last {tgid, state, epoch} seen on this CPU, so the syscall hot path skips the
//            `tracked` hash lookup while the epoch is unchanged (array lookups are inlined by the JIT)
//
// State machine of a tracked process:
//   COUNT   its syscalls are counted; children it forks are COUNT.
//   ARM     the monitor itself while it spawns the `run` child: not counted; its children are PENDING.
//   PENDING not counted until it calls execve/execveat, which becomes COUNT (and is counted) — so `run`
//           counts from the child's own execve, like `strace -f CMD`.
//
// Detail mode (detail.ts) adds dp_sys_exit (sys-exit.ts), which pairs each return with its entry:
// errors, errnos and time per (process, syscall); and counts per thread.
//
// maps.ts holds the maps and the state word, blocks.ts the shared sequences, sys-enter.ts,
// sys-exit.ts and lifecycle.ts the programs.
export * from './maps.js';
export { sysEnterProgram, type SysEnterLayout } from './sys-enter.js';
export { sysExitProgram, type SysExitLayout } from './sys-exit.js';
export { COUNT_ONLY, DEFAULT_DETAILS, featureMaps, type DetailSizes, type TracerFeatures } from './detail.js';
export { forkProgram, exitProgram, execProgram, type ForkLayout, type ExitLayout } from './lifecycle.js';

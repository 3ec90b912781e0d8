// Exit accounting: the final figures of every process of the tree, taken in the kernel as each of its
// threads exits (sched_process_exit runs in the exiting thread, before it is reaped). Each thread adds
// its own CPU time, I/O and page faults once, so a process's sum is exact whoever reaps it and however
// short it lived; the last thread (group_dead) adds the peak RSS, exit status, parent and name.
//
// exits: {u32 tgid, u32 0, u64 start_boottime} -> value below. Bounded like `tracked`; an entry that
// cannot be created is counted in stats[DROPPED_EXITS] (that process falls back to its /proc figures).
import { R0, R1, R3, R7, R8, R9, R10, add64, mov64, ldx, st, stx, atomic, ja, jeq, jne, jsge, call, label } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import { BPF_NOEXIST, EXIT_DEAD, ExitValue, Stat } from './maps.js';
import { bumpStat, lookup, probeRead, uniqueLabel, updateElem } from './blocks.js';

/** Where the exiting task's figures sit (byte offsets from kernel BTF). */
export interface ExitOffsets {
  /** task_struct.se + sched_entity.sum_exec_runtime (ns on CPU) */
  sumExecRuntime: number;
  /** task_struct.ioac and the fields of struct task_io_accounting (relative to it); -1 when absent */
  ioac: number;
  ioacSize: number;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
  minFlt: number;
  majFlt: number;
  exitCode: number;
  groupLeader: number;
  startBoottime: number;
  realParent: number;
  tgid: number;
  comm: number;
  signal: number;
  /** signal_struct.maxrss: the group's peak RSS in pages (set before the last thread's tracepoint) */
  sigMaxrss: number;
  /**
   * Where the tracepoint runs before exit_mm (Linux 6.16+), the peak of the process's final image:
   * task_struct.mm, mm_struct.hiwater_rss, and the `count` of each mm_struct.rss_stat percpu_counter
   * of resident pages (file, anon, shmem). signal_struct.maxrss also holds the peak of images the
   * process had before its last exec (a copy of its parent's, right after fork). Absent before 6.16.
   */
  mmRss?: { mm: number; hiwaterRss: number; rssCounts: number[] };
}

// Stack (the exit program keeps -4/-8 for itself): -24 key, -32 a pointer read from the task, -88 the
// task's ioac (at most 56 bytes), -96 one u64, -112 two u64, -232 a zeroed value for the insert.
const KEY = -24, PTR = -32, IOAC = -88, U64 = -96, PAIR = -112, ZERO = -232;
const ZERO_SIZE = ExitValue.SIZE;

/** probe_read into the stack; on failure the slot is zeroed (a field we cannot read adds nothing). */
function readOrZero(stackOff: number, size: number, src: Instruction, srcOff: number): (Instruction | Label)[] {
  const ok = uniqueLabel('exit_read_ok');
  const items: (Instruction | Label)[] = [...probeRead(stackOff, size, src, srcOff), jeq.imm(R0, 0, ok)];
  for (let off = 0; off < size; off += 8) items.push(st.dw(R10, stackOff + off, 0));
  items.push(label(ok));
  return items;
}

const addTo = (stackOff: number, valueOff: number): Instruction[] => [ldx.dw(R1, R10, stackOff), atomic.add.dw(R9, valueOff, R1)];

/**
 * Adds the exiting thread's own figures to its process's entry. Expects r7 = the task and the tgid
 * in r1; leaves r9 = 1 when the entry exists (its key at KEY), 0 when the table was full. Clobbers r0-r5.
 */
export function accountThread(o: ExitOffsets): (Instruction | Label)[] {
  const [noEntry, haveEntry] = [uniqueLabel('exit_noentry'), uniqueLabel('exit_entry')];
  const items: (Instruction | Label)[] = [
    stx.w(R10, KEY, R1),
    st.w(R10, KEY + 4, 0),
    // The process is named by its leader's start time too, so a reused pid is another entry.
    ...readOrZero(PTR, 8, mov64.reg(R3, R7), o.groupLeader),
    ldx.dw(R3, R10, PTR),
    ...readOrZero(KEY + 8, 8, mov64.reg(R3, R3), o.startBoottime),
  ];
  for (let off = 0; off < ZERO_SIZE; off += 8) items.push(st.dw(R10, ZERO + off, 0));
  items.push(
    // Create the entry if it is new (another thread may have, meanwhile: then this insert fails, fine).
    ...updateElem('exits', KEY, ZERO, BPF_NOEXIST),
    ...lookup('exits', KEY),
    mov64.reg(R9, R0),
    jne.imm(R9, 0, haveEntry),
    ...bumpStat(Stat.DROPPED_EXITS, -12),
    mov64.imm(R9, 0),
    ja(noEntry),
    label(haveEntry),
    ...readOrZero(U64, 8, mov64.reg(R3, R7), o.sumExecRuntime),
    ...addTo(U64, ExitValue.CPU_NS),
    ...readOrZero(PAIR, 8, mov64.reg(R3, R7), o.minFlt),
    ...addTo(PAIR, ExitValue.MINFLT),
    ...readOrZero(PAIR + 8, 8, mov64.reg(R3, R7), o.majFlt),
    ...addTo(PAIR + 8, ExitValue.MAJFLT),
  );
  if (o.ioac >= 0) {
    items.push(...readOrZero(IOAC, o.ioacSize, mov64.reg(R3, R7), o.ioac));
    const fields: [number, number][] = [
      [o.rchar, ExitValue.RCHAR], [o.wchar, ExitValue.WCHAR], [o.readBytes, ExitValue.READ_BYTES],
      [o.writeBytes, ExitValue.WRITE_BYTES], [o.cancelledWriteBytes, ExitValue.CANCELLED],
    ];
    for (const [field, at] of fields) if (field >= 0) items.push(...addTo(IOAC + field, at));
  }
  items.push(
    mov64.imm(R1, 1),
    atomic.add.dw(R9, ExitValue.THREADS, R1),
    // A flag from here on: a pointer may only be null-checked once, right after its lookup.
    mov64.imm(R9, 1),
    label(noEntry),
  );
  return items;
}

/**
 * The last thread of the group: records the peak RSS, exit time and status, parent and name, and
 * marks the entry dead. Expects r7 = the task, r9 = accountThread's flag. Clobbers r0-r5, r8 and r9.
 */
export function accountGroupDeath(o: ExitOffsets): (Instruction | Label)[] {
  const skip = uniqueLabel('exit_group_skip');
  const items: (Instruction | Label)[] = [
    jeq.imm(R9, 0, skip),
    ...lookup('exits', KEY),
    jeq.imm(R0, 0, skip),
    mov64.reg(R9, R0),
  ];
  const sigPath = uniqueLabel('exit_rss_sig');
  const rssDone = uniqueLabel('exit_rss_done');
  if (o.mmRss) {
    const { mm, hiwaterRss, rssCounts } = o.mmRss;
    // The final image's peak: max(hiwater_rss, resident now), as the kernel's get_mm_hiwater_rss().
    items.push(
      ...readOrZero(PTR, 8, mov64.reg(R3, R7), mm),
      ldx.dw(R3, R10, PTR),
      jeq.imm(R3, 0, sigPath),
      mov64.imm(R8, 0),
    );
    for (const at of rssCounts) {
      items.push(ldx.dw(R3, R10, PTR), ...readOrZero(U64, 8, mov64.reg(R3, R3), at), ldx.dw(R1, R10, U64), add64.reg(R8, R1));
    }
    const keep = uniqueLabel('exit_rss_keep');
    items.push(
      ldx.dw(R3, R10, PTR),
      ...readOrZero(U64, 8, mov64.reg(R3, R3), hiwaterRss),
      ldx.dw(R1, R10, U64),
      jsge.reg(R8, R1, keep),
      mov64.reg(R8, R1),
      label(keep),
      stx.dw(R9, ExitValue.MAXRSS_PAGES, R8),
      ja(rssDone),
    );
  }
  items.push(
    label(sigPath),
    ...readOrZero(PTR, 8, mov64.reg(R3, R7), o.signal),
    ldx.dw(R3, R10, PTR),
    ...readOrZero(U64, 8, mov64.reg(R3, R3), o.sigMaxrss),
    ldx.dw(R1, R10, U64),
    stx.dw(R9, ExitValue.MAXRSS_PAGES, R1),
    label(rssDone),
  );
  return [
    ...items,
    call('ktime_get_boot_ns'),
    stx.dw(R9, ExitValue.EXIT_NS, R0),
    st.dw(R10, U64, 0),
    ...readOrZero(U64, 4, mov64.reg(R3, R7), o.exitCode),
    ldx.w(R1, R10, U64),
    stx.w(R9, ExitValue.STATUS, R1),
    ...readOrZero(PTR, 8, mov64.reg(R3, R7), o.realParent),
    ldx.dw(R3, R10, PTR),
    st.dw(R10, U64, 0),
    ...readOrZero(U64, 4, mov64.reg(R3, R3), o.tgid),
    ldx.w(R1, R10, U64),
    stx.w(R9, ExitValue.PPID, R1),
    ...readOrZero(PAIR, 16, mov64.reg(R3, R7), o.comm),
    ldx.dw(R1, R10, PAIR),
    stx.dw(R9, ExitValue.COMM, R1),
    ldx.dw(R1, R10, PAIR + 8),
    stx.dw(R9, ExitValue.COMM + 8, R1),
    mov64.imm(R1, EXIT_DEAD),
    atomic.or.w(R9, ExitValue.FLAGS, R1),
    label(skip),
  ];
}

/** One exits entry as user space reads it. */
export interface ProcessExit {
  pid: number;
  ppid: number;
  /** The kernel's name of the process (comm, at most 15 bytes); empty until it is dead. */
  comm: string;
  /** When the process started and (once dead) ended: ns since boot (CLOCK_BOOTTIME). */
  startBootNs: number;
  exitBootNs: number;
  /** The whole process has exited; false: only some of its threads have (the process lives on). */
  dead: boolean;
  /** The entry has been removed from the kernel: no later read can add to these figures. */
  final: boolean;
  threadsExited: number;
  /** Sum over the exited threads of their own figures. */
  cpuSecs: number;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
  cancelledWriteBytes: number;
  minflt: number;
  majflt: number;
  /** Dead processes: the peak RSS of the process (pages, as the kernel keeps it). */
  maxRssPages: number;
  /** Dead processes: the exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** Dead processes: the signal that ended it, or null. */
  signal: number | null;
}

/** Decodes one entry (key and value as read from the map). */
export function decodeExit(key: Buffer, v: Buffer, final: boolean): ProcessExit {
  const u64 = (off: number) => Number(v.readBigUInt64LE(off));
  const status = v.readUInt32LE(ExitValue.STATUS);
  const dead = (v.readUInt32LE(ExitValue.FLAGS) & EXIT_DEAD) !== 0;
  const nul = v.indexOf(0, ExitValue.COMM);
  const commEnd = nul < 0 || nul > ExitValue.COMM + 16 ? ExitValue.COMM + 16 : nul;
  const termSig = status & 0x7f;
  return {
    pid: key.readUInt32LE(0),
    startBootNs: Number(key.readBigUInt64LE(8)),
    ppid: v.readUInt32LE(ExitValue.PPID),
    comm: v.toString('utf8', ExitValue.COMM, commEnd),
    exitBootNs: u64(ExitValue.EXIT_NS),
    dead,
    final,
    threadsExited: u64(ExitValue.THREADS),
    cpuSecs: u64(ExitValue.CPU_NS) / 1e9,
    rchar: u64(ExitValue.RCHAR),
    wchar: u64(ExitValue.WCHAR),
    readBytes: u64(ExitValue.READ_BYTES),
    writeBytes: u64(ExitValue.WRITE_BYTES),
    cancelledWriteBytes: u64(ExitValue.CANCELLED),
    minflt: u64(ExitValue.MINFLT),
    majflt: u64(ExitValue.MAJFLT),
    maxRssPages: u64(ExitValue.MAXRSS_PAGES),
    // task->exit_code holds what wait() reports: a signal in the low 7 bits, else the code << 8.
    exitCode: dead && termSig === 0 ? (status >> 8) & 0xff : null,
    signal: dead && termSig !== 0 ? termSig : null,
  };
}

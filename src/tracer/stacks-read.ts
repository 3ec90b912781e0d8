// Reads what dp_stacks counted: (process, syscall, user stack, kernel stack) → count, and the frames of
// each stack as the kernel stored them. Symbolising is not done here (src/symbols).
import type { BpfMap } from '../loader/index.js';
import { BUILD_ID_SIZE_MAX, ERRNO, STACK_BUILD_ID_SIZE, StackBuildIdStatus } from '../asm/abi.js';
import { nameOf, type SyscallTable } from '../syscalls/index.js';
import { NO_STACK, SECOND_TABLE, StackStat } from './stacks.js';

/**
 * One user frame: the code as {build id, file offset}, or only its address (no build id to be had).
 * `buildId` is the kernel's 20 bytes as hex: shorter ids (16-byte, 8-byte) are zero-padded.
 */
export type UserFrame = { buildId: string; offset: number } | { ip: bigint };

/** Why a stack was not stored (what bpf_get_stackid answered); the syscall is still counted. */
export type StackLoss = 'collision' | 'full' | 'empty' | 'other';

export interface StackEntry {
  tgid: number;
  /** The syscall number as counted (compat bit 31 set for 32-bit processes). */
  nr: number;
  /** Its name (`ia32:NAME` for compat). */
  syscall: string;
  /** The name of the thread that made the first of these syscalls. */
  comm: string;
  /** Innermost frame first; absent when the stack was lost (userLoss says why). */
  user?: UserFrame[];
  userLoss?: StackLoss;
  /** Kernel stack (addresses, innermost first) when captured. */
  kernel?: bigint[];
  kernelLoss?: StackLoss;
  /** Sampled syscalls with this (process, syscall, stacks). */
  count: number;
}

export interface StackSnapshot {
  entries: StackEntry[];
  /** Sampled syscalls not counted at all: the (process, syscall, stack) table was full. */
  countsFull: number;
}

function lossOf(code: number): StackLoss {
  if (code === -ERRNO.EEXIST) return 'collision';
  if (code === -ERRNO.ENOMEM) return 'full';
  if (code === -ERRNO.EFAULT) return 'empty';
  return 'other';
}

export class StackReader {
  private readonly users = new Map<number, UserFrame[]>();
  private readonly kernels = new Map<number, bigint[]>();
  private readonly names = new Map<number, string>();

  constructor(private readonly maps: Map<string, BpfMap>, private readonly table: SyscallTable) {}

  private map(name: string): BpfMap | undefined {
    return this.maps.get(name);
  }

  read(): StackSnapshot {
    const entries: StackEntry[] = [];
    const counts = this.map('stack_counts')!;
    for (const [key, value] of counts.rawEntries()) {
      const tgid = key.readUInt32LE(0), nr = key.readUInt32LE(4), uid = key.readInt32LE(8), kid = key.readInt32LE(12);
      const nul = value.indexOf(0, 8);
      const comm = value.toString('utf8', 8, nul < 0 || nul > 24 ? 24 : nul);
      const e: StackEntry = { tgid, nr, syscall: this.nameOf(nr), comm, count: Number(value.readBigUInt64LE(0)) };
      if (uid >= 0) {
        const user = this.userStack(uid);
        if (user) e.user = user;
        else e.userLoss = 'other';
      } else {
        e.userLoss = lossOf(uid);
      }
      if (kid >= 0) {
        const kernel = this.kernelStack(kid);
        if (kernel) e.kernel = kernel;
        else e.kernelLoss = 'other';
      } else if (kid !== NO_STACK) {
        e.kernelLoss = lossOf(kid);
      }
      entries.push(e);
    }
    const stats = this.map('stack_stats')!;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(StackStat.COUNTS_FULL);
    const full = stats.lookup(key);
    return { entries, countsFull: full ? Number(full.readBigUInt64LE(0)) : 0 };
  }

  /**
   * The frames of a stored user stack. Stack ids are never reused (no BPF_F_REUSE_STACKID, nothing is
   * deleted), so each is read from the kernel once.
   */
  private userStack(id: number): UserFrame[] | undefined {
    let frames = this.users.get(id);
    if (frames) return frames;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id & ~SECOND_TABLE);
    const raw = this.map(id & SECOND_TABLE ? 'ustacks2' : 'ustacks')!.lookup(key);
    if (!raw) return undefined;
    frames = decodeBuildIdStack(raw);
    this.users.set(id, frames);
    return frames;
  }

  private kernelStack(id: number): bigint[] | undefined {
    let frames = this.kernels.get(id);
    if (frames) return frames;
    const key = Buffer.alloc(4);
    key.writeUInt32LE(id);
    const raw = this.map('kstacks')?.lookup(key);
    if (!raw) return undefined;
    frames = [];
    for (let at = 0; at + 8 <= raw.length; at += 8) {
      const ip = raw.readBigUInt64LE(at);
      if (ip === 0n) break;
      frames.push(ip);
    }
    this.kernels.set(id, frames);
    return frames;
  }

  private nameOf(nr: number): string {
    let name = this.names.get(nr);
    if (name === undefined) this.names.set(nr, (name = nameOf(this.table, nr)));
    return name;
  }
}

/** struct bpf_stack_build_id[]: the kernel zeroes what follows the last frame (status EMPTY). */
export function decodeBuildIdStack(raw: Buffer): UserFrame[] {
  const frames: UserFrame[] = [];
  for (let at = 0; at + STACK_BUILD_ID_SIZE <= raw.length; at += STACK_BUILD_ID_SIZE) {
    const status = raw.readInt32LE(at);
    if (status === StackBuildIdStatus.VALID) {
      frames.push({ buildId: raw.toString('hex', at + 4, at + 4 + BUILD_ID_SIZE_MAX), offset: Number(raw.readBigUInt64LE(at + 24)) });
    } else if (status === StackBuildIdStatus.IP) {
      frames.push({ ip: raw.readBigUInt64LE(at + 24) });
    } else {
      break;
    }
  }
  return frames;
}

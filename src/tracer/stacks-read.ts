// Takes what dp_stacks counted in one generation of tables out of the kernel: (process, syscall, user
// stack, kernel stack) → count, with the frames of each stack as the kernel stored them, leaving the
// generation's tables empty for its next turn. Only ever called on a generation no program writes any
// more (stacks-drain.ts): a program holding a pointer to an entry while it is removed would add to an
// element the table may already have given to another key. Symbolising is not done here (src/symbols).
import type { BpfMap } from '../loader/index.js';
import { BUILD_ID_SIZE_MAX, ERRNO, STACK_BUILD_ID_SIZE, StackBuildIdStatus } from '../asm/abi.js';
import { StackStatus, generationMaps, type Generation } from './stacks-maps.js';

/**
 * One user frame: the code as {build id, file offset}, or only its address (no build id to be had).
 * `buildId` is the kernel's 20 bytes as hex: shorter ids (16-byte, 8-byte) are zero-padded.
 */
export type UserFrame = { buildId: string; offset: number } | { ip: bigint };

/** Why a stack was not stored (its table was full, or what bpf_get_stack answered); the syscall is still counted. */
export type StackLoss = 'full' | 'empty' | 'other';

export interface StackEntry {
  /**
   * The process when its user stack has a bare address (named through that process's memory), else 0:
   * build-id frames name the same code in every process, so the entries of processes of one name along
   * one path are one.
   */
  tgid: number;
  /** The syscall number as counted (compat bit 31 set for 32-bit processes). */
  nr: number;
  /** Its name (`ia32:NAME` for compat). */
  syscall: string;
  /** The name of the thread that made these syscalls. */
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

/** One stack_counts entry as taken from the kernel: its stacks still raw (trailing empty frames cut). */
export interface TakenEntry {
  tgid: number;
  nr: number;
  comm: string;
  count: number;
  /** The stacks' hashes (hex; the kernel's key of their frames), when stored. */
  userHash?: string;
  kernelHash?: string;
  user?: Buffer;
  userLoss?: StackLoss;
  kernel?: Buffer;
  kernelLoss?: StackLoss;
}

/** What one drain took out of a generation, and how full its tables were. */
export interface TakenGeneration {
  entries: TakenEntry[];
  /** Distinct user and kernel stacks the generation held (its frames tables' use). */
  stacks: number;
}

/** What a status in the stack_counts key says was lost. */
export function lossOf(status: number): StackLoss {
  if (status === StackStatus.TABLE_FULL) return 'full';
  if (status === -ERRNO.EFAULT) return 'empty';
  return 'other';
}

/** Empties generation `g`: every stack_counts entry, with the frames of the stacks it names. */
export function takeGeneration(map: (name: string) => BpfMap | undefined, g: Generation): TakenGeneration {
  const n = generationMaps(g);
  const counts = map(n.counts)!.takeEntries();
  const byHash = (m: BpfMap | undefined, trim: (raw: Buffer) => Buffer) => new Map((m?.takeEntries() ?? []).map(([k, v]) => [k.toString('hex'), trim(v)]));
  const users = byHash(map(n.frames), trimBuildIdStack), kernels = byHash(map(n.kframes), trimIps);
  const entries: TakenEntry[] = [];
  for (const [k, value] of counts) {
    const tgid = k.readUInt32LE(0), nr = k.readUInt32LE(4), ustatus = k.readInt32LE(8), kstatus = k.readInt32LE(12);
    const nul = k.indexOf(0, 48);
    const comm = k.toString('utf8', 48, nul < 0 || nul > 64 ? 64 : nul);
    const e: TakenEntry = { tgid, nr, comm, count: Number(value.readBigUInt64LE(0)) };
    if (ustatus === StackStatus.OK) {
      const hash = k.toString('hex', 16, 32);
      const raw = users.get(hash);
      if (raw) [e.user, e.userHash] = [raw, hash];
      else e.userLoss = 'other';
    } else {
      e.userLoss = lossOf(ustatus);
    }
    if (kstatus === StackStatus.OK) {
      const hash = k.toString('hex', 32, 48);
      const raw = kernels.get(hash);
      if (raw) [e.kernel, e.kernelHash] = [raw, hash];
      else e.kernelLoss = 'other';
    } else if (kstatus !== StackStatus.NONE) {
      e.kernelLoss = lossOf(kstatus);
    }
    entries.push(e);
  }
  return { entries, stacks: users.size + kernels.size };
}

/** struct bpf_stack_build_id[] up to its last frame (the kernel zeroes what follows: status EMPTY). */
function trimBuildIdStack(raw: Buffer): Buffer {
  let at = 0;
  while (at + STACK_BUILD_ID_SIZE <= raw.length && raw.readInt32LE(at) !== StackBuildIdStatus.EMPTY) at += STACK_BUILD_ID_SIZE;
  return raw.subarray(0, at);
}

/** u64 addresses up to the last (the kernel zeroes what follows). */
function trimIps(raw: Buffer): Buffer {
  let at = 0;
  while (at + 8 <= raw.length && raw.readBigUInt64LE(at) !== 0n) at += 8;
  return raw.subarray(0, at);
}

/** struct bpf_stack_build_id[]: the kernel zeroes what follows the last frame (status EMPTY). */
export function decodeBuildIdStack(raw: Buffer): UserFrame[] {
  const frames: UserFrame[] = [];
  // Frames of one file follow each other: its build id is spelled out once.
  let prevAt = -1, prevId = '';
  for (let at = 0; at + STACK_BUILD_ID_SIZE <= raw.length; at += STACK_BUILD_ID_SIZE) {
    const status = raw.readInt32LE(at);
    if (status === StackBuildIdStatus.VALID) {
      if (prevAt < 0 || raw.compare(raw, prevAt + 4, prevAt + 4 + BUILD_ID_SIZE_MAX, at + 4, at + 4 + BUILD_ID_SIZE_MAX) !== 0) {
        prevId = raw.toString('hex', at + 4, at + 4 + BUILD_ID_SIZE_MAX);
      }
      prevAt = at;
      frames.push({ buildId: prevId, offset: raw.readUInt32LE(at + 24) + raw.readUInt32LE(at + 28) * 0x1_0000_0000 });
    } else if (status === StackBuildIdStatus.IP) {
      frames.push({ ip: raw.readBigUInt64LE(at + 24) });
    } else {
      break;
    }
  }
  return frames;
}

/** Kernel stack addresses, innermost first. */
export function decodeIps(raw: Buffer): bigint[] {
  const frames: bigint[] = [];
  for (let at = 0; at + 8 <= raw.length; at += 8) {
    const ip = raw.readBigUInt64LE(at);
    if (ip === 0n) break;
    frames.push(ip);
  }
  return frames;
}

// Memory accesses through pointers: stack, context, map values and ring buffer records.
// Each check throws Reject with the reason in plain words; the interpreter adds insn index + disasm.
import type { MapSpec } from '../../asm/spec.js';
import { STACK_SIZE } from '../../asm/opcodes.js';
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from '../../asm/abi.js';
import type { CtxRule } from './ctx.js';
import { BYTE_DATA, BYTE_UNINIT, UNKNOWN, bounded, describe, isPointer, type RegVal, type State } from './state.js';

export class Reject extends Error {}


/** Programs may not write maps created read-only for programs, nor read write-only ones. */
function checkMapPerm(map: MapSpec, read: boolean, write: boolean): void {
  const flags = map.flags ?? 0;
  if (write && flags & BPF_F_RDONLY_PROG) throw new Reject(`map '${map.name}' is read-only for programs (BPF_F_RDONLY_PROG): writing its value is not allowed`);
  if (read && flags & BPF_F_WRONLY_PROG) throw new Reject(`map '${map.name}' is write-only for programs (BPF_F_WRONLY_PROG): reading its value is not allowed`);
}

/** What a load of `size` bytes gives: the kernel zero-extends loads narrower than 8 bytes. */
export const loaded = (size: number): RegVal => (size < 8 ? bounded((1n << BigInt(8 * size)) - 1n) : UNKNOWN);

export interface MemEnv {
  maps: readonly MapSpec[];
  ctx: CtxRule;
  /** deepest stack byte used by each subprogram (positive byte count), for the combined-stack check */
  depth: number[];
}

export type AccessKind = 'read' | 'write' | 'atomic';

/** Bounds + alignment shared by map values and ring buffer records. */
function checkRegion(what: string, off: number, size: number, limit: number, vmax = 0): void {
  if (off < 0 || off + vmax + size > limit) {
    const at = vmax ? `offset ${off} + up to ${vmax}` : `offset ${off}`;
    throw new Reject(`${size}-byte access at ${at} is outside the ${what} (${limit} bytes: valid offsets 0..${limit - size})`);
  }
  // With a variable part the kernel checks no alignment either (these hosts have efficient unaligned access).
  if (!vmax && off % size !== 0) throw new Reject(`${size}-byte access at offset ${off} of the ${what} is not ${size}-byte aligned`);
}

/** Checks a stack range and returns the frame and its first byte index. */
function stackRange(env: MemEnv, st: State, ptr: Extract<RegVal, { t: 'stack' }>, off: number, size: number, needAlign: boolean) {
  if (off < -STACK_SIZE || off + size > 0) {
    throw new Reject(`stack access r10${off >= 0 ? '+' : ''}${off} size ${size} is outside the ${STACK_SIZE}-byte frame (r10-${STACK_SIZE} .. r10-1)`);
  }
  if (needAlign && off % size !== 0) throw new Reject(`stack access at r10${off} is not aligned to its ${size}-byte size (the kernel requires aligned stack accesses)`);
  const frame = st.frames[ptr.frame]!;
  env.depth[frame.subprog] = Math.max(env.depth[frame.subprog] ?? 0, -off);
  return { frame, at: off + STACK_SIZE };
}

function firstUninit(bytes: Uint8Array, at: number, size: number): number {
  for (let i = 0; i < size; i++) if (bytes[at + i] === BYTE_UNINIT) return i;
  return -1;
}

/** Forgets whole-register spills overlapping [at, at+size): those bytes become plain data. */
function scrubSpills(frame: State['frames'][number], at: number, size: number): void {
  for (let slot = Math.floor(at / 8); slot * 8 < at + size; slot++) frame.spills.delete(slot);
}

/** Reads `size` initialised stack bytes (helper arguments); throws naming the first unwritten byte. */
export function readStackBytes(env: MemEnv, st: State, ptr: Extract<RegVal, { t: 'stack' }>, off: number, size: number, what: string): void {
  const { frame, at } = stackRange(env, st, ptr, off, size, false);
  const bad = firstUninit(frame.bytes, at, size);
  if (bad >= 0) throw new Reject(`${what}: stack byte r10${off + bad} is read before it is ever written (the ${size} bytes at r10${off} must all be initialised)`);
}

/** Marks `size` stack bytes written by a helper. */
export function writeStackBytes(env: MemEnv, st: State, ptr: Extract<RegVal, { t: 'stack' }>, off: number, size: number): void {
  const { frame, at } = stackRange(env, st, ptr, off, size, false);
  scrubSpills(frame, at, size);
  frame.bytes.fill(BYTE_DATA, at, at + size);
}

/**
 * One load/store/atomic of `size` bytes at ptr+insnOff. For writes, `value` is the stored register
 * (undefined for an immediate store). Returns the loaded value for reads and atomics.
 */
export function access(env: MemEnv, st: State, ptr: RegVal, regName: string, insnOff: number, size: number, kind: AccessKind, value?: RegVal): RegVal {
  const writes = kind !== 'read';
  if (value && isPointer(value) && ptr.t !== 'stack') {
    throw new Reject(`storing a pointer (${describe(value)}) into ${ptr.t === 'ctx' ? 'the context' : 'map or ring buffer memory'} is not allowed: it would leak a kernel address`);
  }
  if ('vmax' in ptr && ptr.vmax && ptr.t !== 'pkt' && ptr.t !== 'value' && ptr.t !== 'mem') {
    throw new Reject(`${regName} is ${describe(ptr)}: accesses through a ${ptr.t === 'ctx' ? 'context' : 'stack'} pointer moved by a variable amount are not supported by this verifier`);
  }
  switch (ptr.t) {
    case 'stack': {
      const off = ptr.off + insnOff;
      const { frame, at } = stackRange(env, st, ptr, off, size, true);
      const slot = Math.floor(at / 8);
      const spilled = frame.spills.get(slot);
      if (kind === 'read') {
        const bad = firstUninit(frame.bytes, at, size);
        if (bad >= 0) throw new Reject(`stack byte r10${off + bad} is read before it is ever written`);
        if (spilled && size === 8) return spilled;
        if (spilled && isPointer(spilled)) throw new Reject(`${size}-byte read of part of a spilled pointer at r10${off - (at % 8)}: pointers must be reloaded whole (8 bytes)`);
        return loaded(size);
      }
      if (kind === 'atomic') {
        const bad = firstUninit(frame.bytes, at, size);
        if (bad >= 0) throw new Reject(`atomic operation on stack byte r10${off + bad}, which is never written before`);
        if (spilled && isPointer(spilled)) throw new Reject(`atomic operation on a spilled pointer at r10${off}`);
      }
      if (value && isPointer(value)) {
        if (size !== 8) throw new Reject(`a pointer (${describe(value)}) can only be spilled to the stack with an 8-byte store, not ${size} bytes`);
        if (value.t === 'stack' && ptr.frame !== st.frames.length - 1) {
          throw new Reject('a stack pointer cannot be stored into the stack frame of a caller');
        }
      }
      scrubSpills(frame, at, size);
      frame.bytes.fill(BYTE_DATA, at, at + size);
      if (kind === 'write' && value && size === 8) frame.spills.set(slot, value);
      return UNKNOWN;
    }
    case 'ctx': {
      if (ptr.off !== 0) throw new Reject(`${regName} is the context pointer moved by ${ptr.off} bytes; the kernel only allows context accesses through the unmodified pointer (put the offset in the instruction)`);
      if (kind === 'atomic') throw new Reject(`atomic operations on the ${env.ctx.name} context are not allowed`);
      const why = env.ctx.check(insnOff, size, writes);
      if (typeof why === 'string') throw new Reject(why);
      if (why) return why; // data, data_end, data_meta: packet pointers
      return kind === 'read' ? loaded(size) : UNKNOWN;
    }
    case 'value': {
      const map = env.maps[ptr.map]!;
      checkMapPerm(map, kind !== 'write', writes);
      checkRegion(`value of map '${map.name}'`, ptr.off + insnOff, size, map.valueSize, ptr.vmax ?? 0);
      return kind === 'read' ? loaded(size) : UNKNOWN;
    }
    case 'mem':
      checkRegion('ring buffer record', ptr.off + insnOff, size, ptr.size, ptr.vmax ?? 0);
      return kind === 'read' ? loaded(size) : UNKNOWN;
    case 'pkt':
    case 'pkt_meta': {
      const what = ptr.t === 'pkt' ? 'packet' : 'packet metadata';
      if (!env.ctx.packet) throw new Reject(`${env.ctx.name} programs cannot access the packet directly`);
      if (kind === 'atomic') throw new Reject(`atomic operations on ${what} memory are not allowed`);
      if (writes && env.ctx.packet !== 'rw') throw new Reject(`the packet is read-only for ${env.ctx.name} programs`);
      const o = ptr.off + insnOff;
      if (o < 0 || o + size > ptr.range) {
        throw new Reject(`${size}-byte ${what} access at offset ${o}${ptr.t === 'pkt' && ptr.vmax ? ' (past a variable part)' : ''} is not proven to be inside the packet: only ${ptr.range} bytes were checked against ${ptr.t === 'pkt' ? 'data_end' : 'data'} (compare ${regName} + ${o + size} with ${ptr.t === 'pkt' ? 'data_end' : 'data'} first)`);
      }
      return kind === 'read' ? loaded(size) : UNKNOWN;
    }
    case 'pkt_end':
      throw new Reject(`${regName} is the packet end pointer (data_end): it can only be compared with, not dereferenced`);
    case 'value_or_null':
      throw new Reject(`${regName} may be NULL (map lookup result): compare it with 0 (if ${regName} == 0 goto ...) before dereferencing it`);
    case 'mem_or_null':
      throw new Reject(`${regName} may be NULL (ring buffer reservation): compare it with 0 before dereferencing it`);
    case 'map':
      throw new Reject(`${regName} is a map, not a pointer to memory: use bpf_map_lookup_elem to reach its values`);
    case 'scalar':
      throw new Reject(`${regName} is ${describe(ptr)}, not a pointer: memory can only be accessed through stack, context, map value or ring buffer pointers`);
    case 'uninit':
      throw new Reject(`${regName} is used as a pointer before it is ever written (uninitialised)`);
  }
}

/**
 * Memory passed to a helper: `size` bytes at the pointer, read (must be initialised) or written
 * (marked initialised). Accepts stack, map value and ring buffer record pointers.
 */
export function helperMem(env: MemEnv, st: State, reg: RegVal, regName: string, size: number, write: boolean, what: string): void {
  const vmax = 'vmax' in reg && reg.t !== 'pkt' ? reg.vmax ?? 0 : 0;
  if (vmax && reg.t !== 'value' && reg.t !== 'mem') throw new Reject(`${what}: ${regName} is ${describe(reg)}; a pointer moved by a variable amount is only supported into map values and ring buffer records`);
  switch (reg.t) {
    case 'stack':
      try {
        if (write) writeStackBytes(env, st, reg, reg.off, size);
        else readStackBytes(env, st, reg, reg.off, size, what);
      } catch (e) {
        if (e instanceof Reject && !e.message.startsWith(what)) throw new Reject(`${what}: ${e.message}`);
        throw e;
      }
      return;
    case 'value': {
      const map = env.maps[reg.map]!;
      const off = reg.off;
      checkMapPerm(map, !write, write);
      if (off < 0 || off + vmax + size > map.valueSize) throw new Reject(`${what}: ${size} bytes at offset ${off}${vmax ? ` + up to ${vmax}` : ''} do not fit in the value of map '${map.name}' (${map.valueSize} bytes)`);
      return;
    }
    case 'pkt':
      if (!env.ctx.packet) throw new Reject(`${what}: ${env.ctx.name} programs cannot access the packet directly`);
      if (write && env.ctx.packet !== 'rw') throw new Reject(`${what}: the packet is read-only for ${env.ctx.name} programs`);
      if (reg.off < 0 || reg.off + size > reg.range) throw new Reject(`${what}: ${size} bytes at packet offset ${reg.off} are not proven inside the packet (${reg.range} bytes checked against data_end)`);
      return;
    case 'mem':
      if (reg.off < 0 || reg.off + vmax + size > reg.size) throw new Reject(`${what}: ${size} bytes at offset ${reg.off} do not fit in the ring buffer record (${reg.size} bytes)`);
      return;
    default:
      throw new Reject(`${what}: ${regName} must point to stack, map value or ring buffer memory, but it is ${describe(reg)}`);
  }
}

// The abstract machine state the interpreter walks with: what each register and stack byte may hold
// on one path. Register values are immutable objects, so copying a state copies arrays, not values.
import { STACK_SIZE } from '../../asm/opcodes.js';

/** What a register may hold. Offsets are fixed bytes from the start of the object pointed to. */
export type RegVal =
  | { t: 'uninit' }
  /**
   * a number; `v` is its exact 64-bit value when known (only where the kernel knows it too), else
   * `max` an unsigned upper bound (never below the kernel's own bound for it)
   */
  | { t: 'scalar'; v?: bigint; max?: bigint }
  /** `vmax`, on any pointer below: a variable part of at most that many bytes was added (bounded) */
  | { t: 'ctx'; off: number; vmax?: number }
  /** into the stack frame `frame` (0 = main program); `off` from that frame's r10, so negative */
  | { t: 'stack'; frame: number; off: number; vmax?: number }
  /** a map itself (ld_imm64 map fd); `map` indexes spec.maps */
  | { t: 'map'; map: number }
  /** map lookup result before its null check; copies share `id` so one check settles all */
  | { t: 'value_or_null'; map: number; id: number }
  | { t: 'value'; map: number; off: number; vmax?: number }
  /** ring buffer reservation before its null check; `id` is also the reference to release */
  | { t: 'mem_or_null'; size: number; id: number }
  | { t: 'mem'; size: number; off: number; ref: number; vmax?: number }
  /**
   * into the packet (xdp / skb data): `off` fixed bytes past a base, `vmax` the most any variable
   * part added to the base may be, `id` shared by pointers with the same base (0: the packet start),
   * `range` the bytes past the base proven to be before data_end
   */
  | { t: 'pkt'; id: number; off: number; vmax: number; range: number }
  | { t: 'pkt_meta'; off: number; range: number }
  | { t: 'pkt_end' };

export const UNINIT: RegVal = { t: 'uninit' };
export const UNKNOWN: RegVal = { t: 'scalar' };
export const scalar = (v: bigint): RegVal => ({ t: 'scalar', v: BigInt.asUintN(64, v) });
export const U64_MAX = (1n << 64n) - 1n;
/** A number at most `max` (unsigned); unknown when max is the whole range. */
export const bounded = (max: bigint): RegVal => (max >= U64_MAX ? UNKNOWN : max === 0n ? scalar(0n) : { t: 'scalar', max });
/** Unsigned [min, max] of a number as we know it. */
export function urange(r: RegVal): [bigint, bigint] {
  if (r.t !== 'scalar') return [0n, U64_MAX];
  if (r.v !== undefined) return [r.v, r.v];
  return [0n, r.max ?? U64_MAX];
}

export type PtrVal = Exclude<RegVal, { t: 'uninit' } | { t: 'scalar' }>;
export const isPointer = (r: RegVal): r is PtrVal => r.t !== 'uninit' && r.t !== 'scalar';

/** Stack byte states. */
export const BYTE_UNINIT = 0;
export const BYTE_DATA = 1;

export interface Frame {
  regs: RegVal[];
  /** one entry per stack byte, index 0 = r10-512 */
  bytes: Uint8Array;
  /** 8-byte slots (index = byte index / 8) holding a whole spilled register */
  spills: Map<number, RegVal>;
  /** subprogram index (0 = main) and the insn to continue at when it returns */
  subprog: number;
  returnTo: number;
}

export interface State {
  frames: Frame[];
  /** live ring buffer reservations: reference id -> insn that reserved it and the frame it ran in */
  refs: Map<number, { at: number; frame: number }>;
  nextId: number;
}

export function newFrame(frameNo: number, subprog: number, returnTo: number): Frame {
  const regs: RegVal[] = new Array(11).fill(UNINIT);
  regs[10] = { t: 'stack', frame: frameNo, off: 0 };
  return { regs, bytes: new Uint8Array(STACK_SIZE), spills: new Map(), subprog, returnTo };
}

export function cloneState(s: State): State {
  return {
    frames: s.frames.map((f) => ({
      regs: f.regs.slice(),
      bytes: f.bytes.slice(),
      spills: new Map(f.spills),
      subprog: f.subprog,
      returnTo: f.returnTo,
    })),
    refs: new Map(s.refs),
    nextId: s.nextId,
  };
}

export const cur = (s: State): Frame => s.frames[s.frames.length - 1]!;

function regKey(r: RegVal): string {
  const v = 'vmax' in r && r.vmax && r.t !== 'pkt' ? `~${r.vmax}` : '';
  return baseKey(r) + v;
}

function baseKey(r: RegVal): string {
  switch (r.t) {
    case 'uninit': return 'u';
    case 'scalar': return r.v !== undefined ? `s${r.v}` : r.max !== undefined ? `s<${r.max}` : 's';
    case 'ctx': return `c${r.off}`;
    case 'stack': return `k${r.frame}:${r.off}`;
    case 'map': return `m${r.map}`;
    case 'value_or_null': return `vn${r.map}:${r.id}`;
    case 'value': return `v${r.map}:${r.off}`;
    case 'mem_or_null': return `bn${r.size}:${r.id}`;
    case 'mem': return `b${r.size}:${r.off}:${r.ref}`;
    case 'pkt': return `p${r.id}:${r.off}:${r.vmax}:${r.range}`;
    case 'pkt_meta': return `pm${r.off}:${r.range}`;
    case 'pkt_end': return 'pe';
  }
}

/**
 * A string equal for two states exactly when they are equal: used to skip re-walking a state. With
 * `live` (a register mask, single-frame programs), dead registers are left out: they cannot matter.
 */
export function stateKey(s: State, live?: number): string {
  const parts: string[] = [];
  for (const f of s.frames) {
    const regs = live === undefined ? f.regs.map(regKey) : f.regs.map((r, i) => ((live >> i) & 1 ? regKey(r) : '-'));
    parts.push(`F${f.subprog}@${f.returnTo}`, regs.join(','), Buffer.from(f.bytes).toString('base64'));
    for (const [slot, r] of [...f.spills].sort((a, b) => a[0] - b[0])) parts.push(`${slot}=${regKey(r)}`);
  }
  parts.push(`R${[...s.refs].map(([id, r]) => `${id}@${r.frame}`).join(',')}`);
  return parts.join('|');
}

/** Plain words for a register value, used in messages. */
export function describe(r: RegVal): string {
  const moved = 'vmax' in r && r.vmax && r.t !== 'pkt' ? ` moved by up to ${r.vmax} more bytes` : '';
  return baseDescribe(r) + moved;
}

function baseDescribe(r: RegVal): string {
  switch (r.t) {
    case 'uninit': return 'uninitialised';
    case 'scalar': return r.v !== undefined ? `the number ${r.v}` : r.max !== undefined ? `a number (at most ${r.max})` : 'a number';
    case 'ctx': return r.off ? `a context pointer (+${r.off})` : 'the context pointer';
    case 'stack': return `a stack pointer (r10${r.off >= 0 ? '+' : ''}${r.off})`;
    case 'map': return 'a map (from ld_imm64)';
    case 'value_or_null': return 'a map lookup result that may be NULL';
    case 'value': return `a map value pointer (+${r.off})`;
    case 'mem_or_null': return 'a ring buffer reservation that may be NULL';
    case 'mem': return `a ring buffer record pointer (+${r.off})`;
    case 'pkt': return `a packet pointer (+${r.off}${r.vmax ? ` + up to ${r.vmax}` : ''}; ${r.range} bytes checked against data_end)`;
    case 'pkt_meta': return `a packet metadata pointer (+${r.off})`;
    case 'pkt_end': return 'the packet end pointer (data_end)';
  }
}

/** Applies `fn` to every register and spilled register in every frame (null-check refinement). */
export function mapAllRegs(s: State, fn: (r: RegVal) => RegVal): void {
  for (const f of s.frames) {
    for (let i = 0; i < f.regs.length; i++) f.regs[i] = fn(f.regs[i]!);
    for (const [slot, r] of f.spills) f.spills.set(slot, fn(r));
  }
}

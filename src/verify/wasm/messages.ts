// Fault messages: which instruction, what kind of access, which region, and why it is out of bounds.
import { Class, LD_IMM64, Mode, opClass, opMode } from '../../asm/opcodes.js';
import type { RawInsn } from '../../asm/encoding.js';
import { formatInsn } from '../../asm/disasm.js';
import { MAX_REGIONS, Region, regionBase } from './layout.js';

/** JS mirror of one region table entry (see layout.ts). */
export interface RegionInfo {
  name: string;
  wasmBase: number;
  size: number;
  mask: number;
  limit: number;
}

/** "insn 5 (r0 = *(u64 *)(r1 +16))" */
export function where(insns: readonly RawInsn[], pc: number): string {
  const insn = insns[pc];
  if (!insn) return `insn ${pc}`;
  const next = insn.code === LD_IMM64 ? insns[pc + 1] : undefined;
  return `insn ${pc} (${formatInsn(insn, pc, next)})`;
}

export function accessKind(insns: readonly RawInsn[], pc: number): string {
  const insn = insns[pc];
  if (!insn) return 'access';
  const cls = opClass(insn.code);
  if (cls === Class.LDX) return 'read';
  if (cls === Class.STX && opMode(insn.code) === Mode.ATOMIC) return 'atomic access';
  if (cls === Class.ST || cls === Class.STX) return 'write';
  return 'access';
}

export function regionName(regions: readonly RegionInfo[], a: bigint): string | undefined {
  const hi = Number(a >> 32n);
  return hi < MAX_REGIONS ? regions[hi]?.name : undefined;
}

export function describeAddr(regions: readonly RegionInfo[], a: bigint, width: number): string {
  const hi = Number(a >> 32n), lo = Number(a & 0xffffffffn);
  const r = hi < MAX_REGIONS ? regions[hi] : undefined;
  if (!r || hi === Region.NULL) return a < 0x10000n ? 'a NULL (or near-NULL) pointer' : 'not inside any region (not a pointer this VM handed out)';
  const base = `0x${regionBase(hi).toString(16)}`;
  if (r.mask !== -1 && lo < r.size) {
    const slot = r.mask + 1;
    return `${r.name}: offset ${lo % slot}+${width} crosses the end of a ${r.limit}-byte value (slot ${Math.floor(lo / slot)})`;
  }
  return `${r.name} region is ${r.size} bytes at ${base}; bytes ${lo}..${lo + width - 1} are not all inside it`;
}

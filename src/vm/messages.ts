// Fault messages: which instruction, what kind of access, which region, and why it is out of bounds.
import { Class, LD_IMM64, Mode, opClass, opMode } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import { formatInsn } from '../asm/disasm.js';
import { FRAME_SIZE, Fault, MAX_FRAMES, MAX_REGIONS, Region, regionBase } from './layout.js';
import { BpfFault } from './fault.js';

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

/** The error for a fault the wasm code raised (kind: layout.ts Fault) at instruction `pc`. */
export function faultError(insns: readonly RawInsn[], regions: readonly RegionInfo[], budget: number, kind: number, pc: number, addr: bigint, width: number): BpfFault {
  const a = BigInt.asUintN(64, addr);
  const at = where(insns, pc);
  switch (kind) {
    case Fault.ACCESS:
      return new BpfFault('access', pc, `${at}: out-of-bounds ${accessKind(insns, pc)} of ${width} bytes at 0x${a.toString(16)}: ${describeAddr(regions, a, width)}`, a, regionName(regions, a));
    case Fault.HELPER_ACCESS:
      // The text BpfVm.translate() gives a helper's pointer argument.
      return new BpfFault('access', pc, `${at}: helper access of ${width} bytes at 0x${a.toString(16)}: ${describeAddr(regions, a, width)}`, a, regionName(regions, a));
    case Fault.FRAME: {
      const off = insns[pc]?.off; // as where(): a pc outside the program is named, not dereferenced
      const fp = off === undefined ? '' : ` at fp${off >= 0 ? '+' : ''}${off}`;
      return new BpfFault('frame', pc, `${at}: stack access of ${width} bytes${fp} is outside the ${FRAME_SIZE}-byte frame`, a, 'stack');
    }
    case Fault.BUDGET:
      return new BpfFault('budget', pc, `instruction budget of ${budget} exhausted in the subprogram at insn ${pc} (a runaway loop?); raise VmOptions.maxSteps if it is legitimate`);
    default:
      return new BpfFault('depth', pc, `${at}: bpf-to-bpf calls nested deeper than ${MAX_FRAMES} frames`);
  }
}

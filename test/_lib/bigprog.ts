// Large generated programs (up to the kernel's 1 M instructions) with a reference result: a straight
// body of checked loads, ALU, stack traffic and short forward branches, run twice by a loop whose
// back edge spans the whole body, with bpf-to-bpf calls into a small subprogram. `reference` is an
// independent interpreter of exactly the instructions the generator emits, so the expected r0 and
// step count do not come from the engine under test.
import type { RawInsn } from '../../src/asm/encoding.js';

const M = (1n << 64n) - 1n;
const I = (code: number, dst: number, src: number, off: number, imm: number): RawInsn => ({ code, dst, src, off, imm });

// The opcodes used (and interpreted below).
const MOV_K = 0xb7, MOV_X = 0xbf, ADD_K = 0x07, ADD_X = 0x0f, XOR_K = 0xa7, MUL_K = 0x27, RSH_K = 0x77;
const LDX_DW = 0x79, STX_DW = 0x7b, JSET_K = 0x45, JNE_K = 0x55, CALL = 0x85, EXIT = 0x95;

/** r1 = data (64 bytes), r2 = its length. */
export const BIG_DATA = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);

export function bigProgram(target: number, seed = 1): RawInsn[] {
  let s = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
  const body: RawInsn[] = [];
  const sub: RawInsn[] = [I(MOV_X, 0, 1, 0, 0), I(MUL_K, 0, 0, 0, 5), I(ADD_X, 0, 2, 0, 0), I(EXIT, 0, 0, 0, 0)];
  const callAt: number[] = [];
  // prologue: r6 = data, r7 = 2 (loop count), r0 = 0
  const pro = [I(MOV_X, 6, 1, 0, 0), I(MOV_K, 7, 0, 0, 2), I(MOV_K, 0, 0, 0, 0)];
  const budget = target - pro.length - sub.length - 3;
  while (body.length < budget - 8) {
    switch (rnd(6)) {
      case 0: body.push(I(LDX_DW, 2, 6, rnd(57), 0), I(ADD_X, 0, 2, 0, 0)); break;
      case 1: body.push(I(XOR_K, 0, 0, 0, rnd(1 << 30)), I(MUL_K, 0, 0, 0, 3 + rnd(5))); break;
      case 2: body.push(I(STX_DW, 10, 0, -8 * (1 + rnd(8)), 0), I(LDX_DW, 3, 10, -8 * (1 + rnd(8)), 0), I(RSH_K, 3, 0, 0, 1 + rnd(40)), I(ADD_X, 0, 3, 0, 0)); break;
      case 3: body.push(I(JSET_K, 0, 0, 1, 1 << rnd(8)), I(ADD_K, 0, 0, 0, rnd(1000))); break;
      case 4: body.push(I(LDX_DW, 4, 6, 8 * rnd(8), 0), I(XOR_K, 4, 0, 0, rnd(1 << 20)), I(ADD_X, 0, 4, 0, 0)); break;
      default:
        if (rnd(50) === 0) {
          body.push(I(MOV_X, 1, 0, 0, 0), I(MOV_K, 2, 0, 0, rnd(100)));
          callAt.push(body.length);
          body.push(I(CALL, 0, 1, 0, 0));
        } else body.push(I(ADD_K, 0, 0, 0, 1));
    }
  }
  // stack slots read before written must hold something defined: zero them in the prologue.
  for (let k = 1; k <= 8; k++) pro.push(I(0x7a, 10, 0, -8 * k, 0));
  const loopHead = pro.length;
  const insns = [...pro, ...body];
  // r7 -= 1; if r7 != 0 goto loopHead; exit
  insns.push(I(ADD_K, 7, 0, 0, -1));
  insns.push(I(JNE_K, 7, 0, loopHead - (insns.length + 1), 0));
  insns.push(I(EXIT, 0, 0, 0, 0));
  const subStart = insns.length;
  for (const at of callAt) {
    const pc = pro.length + at;
    insns[pc] = I(CALL, 0, 1, 0, subStart - pc - 1);
  }
  insns.push(...sub);
  return insns;
}

/** Runs a bigProgram on BIG_DATA: the expected r0 and instructions executed. */
export function reference(insns: RawInsn[]): { r0: bigint; steps: number } {
  const data = new DataView(BIG_DATA.buffer.slice(0));
  let steps = 0;
  const frame = (pc: number, args: bigint[], depth: number): bigint => {
    const r = [0n, ...args, 0n, 0n, 0n, 0n, 0n];
    const reg = (n: number): bigint => {
      const v = r[n];
      if (v === undefined) throw new Error(`reference: r${n} is not a register`);
      return v;
    };
    const stack = new DataView(new ArrayBuffer(512));
    const DATA = 1n << 40n, FP = 2n << 40n;
    if (depth === 0) r[1] = DATA;
    r[10] = FP + 512n;
    const load = (a: bigint): bigint => (a >= FP ? stack.getBigUint64(Number(a - FP), true) : data.getBigUint64(Number(a - DATA), true));
    for (;;) {
      const x = insns[pc++];
      if (x === undefined) throw new Error(`reference: ran off the end of the program (${insns.length} slots)`);
      steps++;
      switch (x.code) {
        case MOV_K: r[x.dst] = BigInt(x.imm) & M; break;
        case MOV_X: r[x.dst] = reg(x.src); break;
        case ADD_K: r[x.dst] = (reg(x.dst) + BigInt(x.imm)) & M; break;
        case ADD_X: r[x.dst] = (reg(x.dst) + reg(x.src)) & M; break;
        case XOR_K: r[x.dst] = reg(x.dst) ^ (BigInt(x.imm) & M); break;
        case MUL_K: r[x.dst] = (reg(x.dst) * BigInt(x.imm)) & M; break;
        case RSH_K: r[x.dst] = reg(x.dst) >> BigInt(x.imm); break;
        case LDX_DW: r[x.dst] = load(reg(x.src) + BigInt(x.off)); break;
        case STX_DW: stack.setBigUint64(Number(reg(x.dst) + BigInt(x.off) - FP), reg(x.src), true); break;
        case 0x7a: stack.setBigUint64(Number(reg(x.dst) + BigInt(x.off) - FP), BigInt(x.imm) & M, true); break;
        case JSET_K: if (reg(x.dst) & BigInt(x.imm)) pc += x.off; break;
        case JNE_K: if (reg(x.dst) !== (BigInt(x.imm) & M)) pc += x.off; break;
        case CALL: r[0] = frame(pc + x.imm, r.slice(1, 6), depth + 1); break;
        case EXIT: return reg(0);
        default: throw new Error(`reference: opcode 0x${x.code.toString(16)}`);
      }
    }
  };
  const r0 = frame(0, [0n, 64n, 0n, 0n, 0n], 0);
  return { r0, steps };
}

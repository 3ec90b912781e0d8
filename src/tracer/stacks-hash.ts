// The key of a stack: a 128-bit hash of its frames' bytes, computed in dp_stacks (hashFrames) and,
// for tests and checks, here (frameHash). Two lanes of 64 bits, each a chain of bijections of its state
// per word (xor or add, multiply by an odd constant) with an xorshift after each frame, then the length:
// stacks that differ in one word never share a lane's value; for any other pair, sharing both lanes is
// a chance far below 2^-64. Not a defence against stacks crafted to collide (they would only merge two
// stacks of the crafter's own processes).
import { R0, R1, R2, R3, R4, R5, R7, R9, R10, add64, ja, jeq, jle, jne, label, ldImm64, ldx, mov64, mul64, rsh64, st, stx, xor64 } from '../asm/index.js';
import { STACK_BUILD_ID_SIZE, StackBuildIdStatus } from '../asm/abi.js';
import type { Instruction, Label } from '../asm/index.js';

const K1 = 0x9e3779b97f4a7c15n;
const K2 = 0xc2b2ae3d27d4eb4fn;
const SEED1 = 0x243f6a8885a308d3n;
const SEED2 = 0x13198a2e03707344n;
const SHIFT1 = 29n;
const SHIFT2 = 32n;
const MASK = (1n << 64n) - 1n;

/**
 * Hashes the first r0 bytes (whole elements of `elem` bytes, at most `max` of them) of the buffer at
 * r9 + `base`, and stores the two lanes at fp + `store` and fp + `store` + 8. Clobbers r0-r5; r9 is kept.
 * Unrolled (no loop for either verifier): one length check and `elem / 8` words per element. `cut`
 * (build-id frames): the stack ends at its first bogus frame (cutBogusFrame), in the same pass, and a
 * sound bare address stores the tgid (r7) at fp + `cut.tgid` (the stack names this process's memory). The
 * length is not mixed in (frames are; a stack and its extension differ by whole frames), so that the
 * paths out of the unrolled checks meet in one state for the verifiers.
 */
export function hashFrames(o: { base: number; elem: number; max: number; store: number; tag: string; cut?: { tgid: number } }): (Instruction | Label)[] {
  const done = `hash_done_${o.tag}`;
  const items: (Instruction | Label)[] = [ldImm64(R1, SEED1), ldImm64(R2, SEED2), ldImm64(R4, K1), ldImm64(R5, K2)];
  for (let i = 0; i < o.max; i++) {
    const at = o.base + i * o.elem;
    const mix: Instruction[] = [];
    for (let w = 0; w < o.elem; w += 8) mix.push(ldx.dw(R3, R9, at + w), xor64.reg(R1, R3), mul64.reg(R1, R4), add64.reg(R2, R3), mul64.reg(R2, R5));
    mix.push(...xorshift());
    items.push(jle.imm(R0, i * o.elem, done));
    if (o.cut) {
      const ok = `hash_ok_${o.tag}_${i}`;
      items.push(...cutBogusFrame(at, i + 1 < o.max, ok, done, o.cut.tgid), ...mix, ja(done), label(ok));
    }
    items.push(...mix);
  }
  items.push(
    label(done),
    mul64.reg(R1, R4), mul64.reg(R2, R5), ...xorshift(),
    stx.dw(R10, o.store, R1),
    stx.dw(R10, o.store + 8, R2),
  );
  return items;
}

/** Both lanes: h ^= h >> s (through r3). */
function xorshift(): Instruction[] {
  return [mov64.reg(R3, R1), rsh64.imm(R3, Number(SHIFT1)), xor64.reg(R1, R3), mov64.reg(R3, R2), rsh64.imm(R3, Number(SHIFT2)), xor64.reg(R2, R3)];
}

/** What hashFrames computes for `bytes` (its whole length, a multiple of `elem`). */
export function frameHash(bytes: Buffer, elem: number): [bigint, bigint] {
  let h1 = SEED1, h2 = SEED2;
  const shift = () => {
    h1 ^= h1 >> SHIFT1;
    h2 ^= h2 >> SHIFT2;
  };
  for (let at = 0; at + elem <= bytes.length; at += elem) {
    for (let w = 0; w < elem; w += 8) {
      const x = bytes.readBigUInt64LE(at + w);
      h1 = ((h1 ^ x) * K1) & MASK;
      h2 = (((h2 + x) & MASK) * K2) & MASK;
    }
    shift();
  }
  h1 = (h1 * K1) & MASK;
  h2 = (h2 * K2) & MASK;
  shift();
  return [h1, h2];
}

/** File offsets from 2^47 up (128 TiB) are in no file; addresses from 2^56 up are no process's (x86-64, arm64). */
export const BOGUS_OFFSET_SHIFT = 47;
export const BOGUS_IP_SHIFT = 56;
/** The file offset or address a bogus frame is given (its own varies with whatever the walk read). */
export const BOGUS = (1n << 64n) - 1n;

/**
 * The stack ends at its first bogus frame: a file offset or an address no code can have. Such a frame
 * is what the frame pointer walk reads where code without frame pointers left some other value (a heap
 * pointer, a count) in the register: the frames it yields from there on are garbage that differs from
 * call to call, so each call would be a new stack. The frame at r9 + `at` is checked: when sound, goes
 * on to `ok`; when bogus, it is given BOGUS (it names no code whatever its value), the next one (if
 * `hasNext`) is marked empty (where user space stops reading), and what follows is this frame's hash,
 * the last. A sound bare address stores the tgid (r7) at fp + `tgidAt`. Clobbers r3.
 */
function cutBogusFrame(at: number, hasNext: boolean, ok: string, end: string, tgidAt: number): (Instruction | Label)[] {
  const ip = `${ok}_ip`, bogus = `${ok}_bogus`;
  return [
    ldx.w(R3, R9, at),
    jeq.imm(R3, StackBuildIdStatus.EMPTY, end),
    jne.imm(R3, StackBuildIdStatus.VALID, ip),
    // The file offset and a bare frame's ip share the field.
    ldx.dw(R3, R9, at + 24),
    rsh64.imm(R3, BOGUS_OFFSET_SHIFT),
    jeq.imm(R3, 0, ok),
    ja(bogus),
    label(ip),
    ldx.dw(R3, R9, at + 24),
    rsh64.imm(R3, BOGUS_IP_SHIFT),
    jne.imm(R3, 0, bogus),
    stx.w(R10, tgidAt, R7),
    ja(ok),
    label(bogus),
    mov64.imm(R3, -1),
    stx.dw(R9, at + 24, R3),
    ...(hasNext ? [st.w(R9, at + STACK_BUILD_ID_SIZE, StackBuildIdStatus.EMPTY)] : []),
  ];
}

// Encoding checks on every instruction, reachable on our walk or not. First the kernel's own rules
// (src/asm/validate.ts: opcodes, reserved fields, registers), then the encodings that are valid but
// that this verifier does not model, refused with words saying so. The kernel checks some of these
// only on the instructions its walk reaches, and we skip branches on known constants as it does,
// so checking all instructions can only make us stricter.
import type { RawInsn } from '../../asm/encoding.js';
import { AtomicOp, Class, JmpOp, LD_IMM64, Mode, Pseudo, opAluJmp, opClass, opMode } from '../../asm/opcodes.js';
import { validateInsn } from '../../asm/validate.js';
import { Reject } from './memory.js';

/** Throws Reject when insn (with `next`, the following slot) is not an encoding we verify. */
export function checkFields(insn: RawInsn, next: RawInsn | undefined, hasMapRef: boolean): void {
  const kernel = validateInsn(insn, next);
  if (kernel) throw new Reject(kernel.message);
  const cls = opClass(insn.code);
  const mode = opMode(insn.code);
  if (insn.code === LD_IMM64) {
    if (insn.src === Pseudo.MAP_FD || insn.src === Pseudo.MAP_VALUE) {
      if (!hasMapRef) throw new Reject(`ld_imm64 of a map ${insn.src === Pseudo.MAP_FD ? 'fd' : 'value'} with no entry in spec.mapRefs: the verifier cannot tell which map it is`);
    } else if (insn.src !== 0) {
      throw new Reject(`ld_imm64 with src ${insn.src} (BTF ids, function pointers, fd_array indexes) is not supported by this verifier`);
    }
    return;
  }
  switch (cls) {
    case Class.ALU:
    case Class.ALU64:
      if (insn.off !== 0) throw new Reject('signed div/mod, sign-extending moves and address-space casts (non-zero off) are not supported by this verifier');
      return;
    case Class.JMP:
    case Class.JMP32: {
      const op = opAluJmp(insn.code);
      if (cls === Class.JMP32 && op === JmpOp.JA) throw new Reject('gotol (32-bit unconditional jump) is not supported by this verifier');
      if (op === JmpOp.CALL && insn.src === Pseudo.KFUNC_CALL) throw new Reject('kfunc calls are not supported by this verifier');
      if (op === JmpOp.JCOND) throw new Reject('may_goto is not supported by this verifier');
      return;
    }
    case Class.LD:
      return; // ld_abs / ld_ind: checked by the walk (program type, r6)
    case Class.LDX:
      if (mode === Mode.MEMSX) throw new Reject('sign-extending loads are not supported by this verifier');
      return;
    case Class.STX:
      if (mode === Mode.ATOMIC && (insn.imm === AtomicOp.LOAD_ACQ || insn.imm === AtomicOp.STORE_REL)) {
        throw new Reject('load-acquire / store-release are not supported by this verifier');
      }
      return;
    default:
      return;
  }
}


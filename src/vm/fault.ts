// Errors a program run can end with. A fault stops the run before any state is corrupted and says
// which instruction, which address and which region were involved.

export type FaultKind = 'access' | 'frame' | 'budget' | 'depth' | 'helper';

export class BpfFault extends Error {
  constructor(
    readonly kind: FaultKind,
    /** slot index of the faulting instruction (-1 when unknown) */
    readonly pc: number,
    message: string,
    readonly addr?: bigint,
    /** name of the region the address fell in or near */
    readonly region?: string,
  ) {
    super(message);
    this.name = 'BpfFault';
  }
}

/** Thrown by a legacy packet load (ld_abs/ld_ind) out of bounds: the kernel ends the program with 0. */
export class LdAbsExit extends Error {
  constructor() {
    super('ld_abs/ld_ind outside the packet');
  }
}

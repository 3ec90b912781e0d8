// Notes for the disassembly of a seccomp filter: what each seccomp_data load reads, which
// architecture a constant is, which syscall a number is on the ABI that path has checked, and what
// a return value does. The ABI is followed through the jumps: classic BPF only jumps forward, so one
// pass in order sees every predecessor of an instruction before the instruction itself.
import { cbpf } from '../asm/index.js';
import { syscallTable, type NumberedTable } from '../syscalls/index.js';
import { AUDIT_ARCH, SECCOMP_DATA, SECCOMP_RET, X32_SYSCALL_BIT } from './seccomp-bpf.js';

const { CClass, CMode, CJmpOp, CSrc, cclass, cmode, cop, csrc } = cbpf;

const ARCH_NAME = new Map<number, string>(Object.entries(AUDIT_ARCH).map(([n, v]) => [v, `AUDIT_ARCH_${n}`]));
const TABLES = new Map<number, NumberedTable>([
  [AUDIT_ARCH.X86_64, syscallTable('x86_64')],
  [AUDIT_ARCH.I386, syscallTable('x86_64').compat],
  [AUDIT_ARCH.AARCH64, syscallTable('aarch64')],
  [AUDIT_ARCH.ARM, syscallTable('aarch64').compat],
]);

/** What the accumulator holds at an instruction, as far as all paths to it agree. */
interface State {
  /** the seccomp_data field last loaded into A */
  a?: 'nr' | 'arch';
  /** the AUDIT_ARCH value every path here compared equal, when they agree */
  arch?: number;
}

const CONFLICT = -1;

function field(k: number): string | undefined {
  if (k === SECCOMP_DATA.nr) return 'seccomp_data.nr';
  if (k === SECCOMP_DATA.arch) return 'seccomp_data.arch';
  if (k === SECCOMP_DATA.instruction_pointer || k === SECCOMP_DATA.instruction_pointer + 4) return 'seccomp_data.instruction_pointer';
  if (k >= SECCOMP_DATA.args && k < SECCOMP_DATA.args + 48) return `seccomp_data.args[${(k - SECCOMP_DATA.args) >> 3}]${(k & 4) ? ' (high half)' : ''}`;
  return undefined;
}

export function retNote(k: number): string {
  const action = (k & 0xffff0000) >>> 0;
  const data = k & 0xffff;
  for (const [name, v] of Object.entries(SECCOMP_RET)) {
    if (v !== action && !(name === 'KILL_THREAD' && k === 0)) continue;
    if (name === 'ERRNO') return `SECCOMP_RET_ERRNO | ${data === 1 ? 'EPERM' : data}`;
    return `SECCOMP_RET_${name}${data && name !== 'KILL_THREAD' ? ` | ${data}` : ''}`;
  }
  return 'unknown seccomp action';
}

/** True when the program looks like a seccomp filter: it compares seccomp_data.arch with an AUDIT_ARCH. */
export function looksLikeSeccomp(filters: readonly cbpf.SockFilter[]): boolean {
  let archLoaded = false;
  for (const f of filters) {
    if (f.code === (CClass.LD | CMode.ABS)) archLoaded = f.k === SECCOMP_DATA.arch;
    else if (archLoaded && f.code === (CClass.JMP | CJmpOp.JEQ | CSrc.K) && ARCH_NAME.has(f.k)) return true;
  }
  return false;
}

/** One note per instruction (undefined where there is nothing to say). */
export function seccompNotes(filters: readonly cbpf.SockFilter[]): (string | undefined)[] {
  const states: (State | undefined)[] = filters.map(() => undefined);
  states[0] = {};
  const merge = (to: number, s: State): void => {
    if (to >= filters.length) return;
    const cur = states[to];
    if (!cur) { states[to] = { ...s }; return; }
    if (cur.a !== s.a) cur.a = undefined;
    if (cur.arch !== s.arch) cur.arch = CONFLICT;
  };
  return filters.map((f, i) => {
    const s = states[i] ?? {};
    let note: string | undefined;
    const cls = cclass(f.code);
    if (cls === CClass.LD && cmode(f.code) === CMode.ABS) {
      note = field(f.k);
      merge(i + 1, { arch: s.arch, a: f.k === SECCOMP_DATA.nr ? 'nr' : f.k === SECCOMP_DATA.arch ? 'arch' : undefined });
    } else if (cls === CClass.JMP && cop(f.code) === CJmpOp.JA) {
      merge(i + 1 + f.k, s);
    } else if (cls === CClass.JMP) {
      const k = csrc(f.code) === CSrc.K ? f.k : undefined;
      let taken: State = s;
      if (k !== undefined && s.a === 'arch') {
        note = ARCH_NAME.get(k);
        if (cop(f.code) === CJmpOp.JEQ && note) taken = { ...s, arch: k };
      } else if (k !== undefined && s.a === 'nr') {
        if (k === X32_SYSCALL_BIT && (cop(f.code) === CJmpOp.JGE || cop(f.code) === CJmpOp.JSET)) note = 'x32 ABI bit';
        else if (cop(f.code) === CJmpOp.JEQ && s.arch !== undefined && s.arch !== CONFLICT) note = TABLES.get(s.arch)?.name(k);
      }
      merge(i + 1 + f.jt, taken);
      merge(i + 1 + f.jf, s);
    } else if (cls === CClass.RET) {
      if ((f.code & 0x18) === 0) note = retNote(f.k);
    } else {
      // Anything else may change A; the ABI a path has checked stays known.
      merge(i + 1, { arch: s.arch });
    }
    return note;
  });
}

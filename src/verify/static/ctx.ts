// What a program may read from its context (r1 at entry), per program type. Each rule is the
// kernel's is_valid_access for that type, or narrower where modelling the kernel fully would cost
// more than it gives (e.g. packet pointers of xdp/socket filters are not modelled: not readable here).
import { ProgType } from '../../asm/opcodes.js';

export interface CtxRule {
  /** program type name for messages */
  name: string;
  /** returns null when the access is allowed, else the reason */
  check(off: number, size: number, write: boolean): string | null;
}

/** sizeof(struct pt_regs) as seen by kprobe programs on this architecture. */
const PT_REGS_SIZE: Record<string, number> = { x64: 168, arm64: 272 };

function readOnly(write: boolean, name: string): string | null {
  return write ? `the ${name} context is read-only` : null;
}

function bounded(name: string, lo: number, limit: number, what: string, sizes: number[]) {
  return (off: number, size: number, write: boolean): string | null => {
    const ro = readOnly(write, name);
    if (ro) return ro;
    if (!sizes.includes(size)) return `${name} context reads must be ${sizes.map((s) => `${s * 8}-bit`).join(' or ')}`;
    if (off % size !== 0) return `context read at offset ${off} is not aligned to its ${size}-byte size`;
    if (off < lo || off + size > limit) return `context read at offset ${off} size ${size} is outside ${what} (bytes ${lo}..${limit - 1})`;
    return null;
  };
}

/** Readable u32 fields: offset -> name. Everything else (data pointers, writes) is refused. */
function fields(name: string, table: Record<number, string>) {
  return (off: number, size: number, write: boolean): string | null => {
    const ro = readOnly(write, name);
    if (ro) return ro;
    if (size !== 4 || !(off in table)) {
      return `context access at offset ${off} size ${size} is not one of the ${name} fields this verifier allows (${Object.entries(table).map(([o, f]) => `${f}@${o}`).join(', ')}; 32-bit loads)`;
    }
    return null;
  };
}

/** The rule for a program type, or undefined when the type is not supported. */
export function ctxRule(progType: number, ctxSize: number | undefined): CtxRule | undefined {
  switch (progType) {
    case ProgType.RAW_TRACEPOINT: {
      // 8 bytes per tracepoint argument; the kernel allows up to 12 at load time and checks the real
      // count at attach, so the declared ctxSize (when given) is the tighter bound.
      const limit = Math.min(ctxSize ?? 96, 96);
      return { name: 'raw_tracepoint', check: bounded('raw_tracepoint', 0, limit, `the ${limit / 8} u64 arguments`, [8]) };
    }
    case ProgType.TRACEPOINT: {
      // The first 8 bytes of the record (common fields) are hidden from BPF programs.
      const limit = Math.min(ctxSize ?? 8192, 8192);
      return { name: 'tracepoint', check: bounded('tracepoint', 8, limit, 'the tracepoint record after its 8 hidden common bytes', [1, 2, 4, 8]) };
    }
    case ProgType.KPROBE: {
      const regs = PT_REGS_SIZE[process.arch] ?? 0;
      const limit = Math.min(ctxSize ?? regs, regs);
      return { name: 'kprobe', check: bounded('kprobe', 0, limit, 'struct pt_regs', [1, 2, 4, 8]) };
    }
    case ProgType.SOCKET_FILTER:
      return {
        name: 'socket_filter',
        check: fields('socket_filter', {
          0: 'len', 4: 'pkt_type', 8: 'mark', 12: 'queue_mapping', 16: 'protocol', 20: 'vlan_present',
          24: 'vlan_tci', 28: 'vlan_proto', 32: 'priority', 36: 'ingress_ifindex', 40: 'ifindex',
        }),
      };
    case ProgType.XDP:
      return { name: 'xdp', check: fields('xdp', { 12: 'ingress_ifindex', 16: 'rx_queue_index' }) };
    default:
      return undefined;
  }
}

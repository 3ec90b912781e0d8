// What a program may read from (or write to) its context (r1 at entry), per program type. Each rule is
// the kernel's is_valid_access for that type, or narrower where modelling the kernel fully would cost
// more than it gives. Loads of data / data_end / data_meta give packet pointers.
import { ProgType } from '../../asm/opcodes.js';
import type { RegVal } from './state.js';

export interface CtxRule {
  /** program type name for messages */
  name: string;
  /** direct packet access through data/data_end: read-only or read-write; absent when none */
  packet?: 'ro' | 'rw';
  /** ld_abs / ld_ind allowed (skb programs) */
  ldAbs?: boolean;
  /** null: allowed (a number); a RegVal: allowed, and this is what a load gives; a string: the reason it is refused */
  check(off: number, size: number, write: boolean): string | RegVal | null;
}

/** sizeof(struct pt_regs) as seen by kprobe and perf_event programs on this architecture. */
const PT_REGS_SIZE: Record<string, number> = { x64: 168, arm64: 272 };

const PKT: RegVal = { t: 'pkt', id: 0, off: 0, vmax: 0, range: 0 };
const PKT_END: RegVal = { t: 'pkt_end' };
const PKT_META: RegVal = { t: 'pkt_meta', off: 0, range: 0 };

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

/** A context of u32 fields: offset -> name, plus which may be written and which hold packet pointers. */
interface Fields {
  name: string;
  read: Record<number, string>;
  /** u32 fields that may be written (4-byte stores) */
  write?: ReadonlySet<number>;
  /** fields loaded (as 4 bytes) into packet pointers */
  pointers?: Record<number, RegVal>;
  /** only whole 4-byte loads (xdp); else 1/2-byte loads inside a field are allowed too */
  wholeOnly?: boolean;
}

function fields(f: Fields) {
  const list = () => Object.entries(f.read).map(([o, n]) => `${n}@${o}`).join(', ');
  return (off: number, size: number, write: boolean): string | RegVal | null => {
    const base = off - (off % 4);
    const field = f.read[base];
    const ptr = f.pointers?.[off];
    if (ptr) {
      if (write) return `the ${f.name} context field at offset ${off} (a packet pointer) is read-only`;
      return size === 4 ? ptr : `${f.name} packet pointers (offset ${off}) are loaded with 32-bit loads only`;
    }
    if (field === undefined || off % size !== 0 || size > 4 || (f.wholeOnly && size !== 4)) {
      return `context access at offset ${off} size ${size} is not one of the ${f.name} fields this verifier allows (${list()}; ${f.wholeOnly ? '32-bit loads' : 'aligned loads of at most 32 bits'})`;
    }
    if (write) {
      if (!f.write?.has(off) || size !== 4) return `the ${f.name} context is read-only${f.write?.size ? ` except ${[...f.write].map((o) => f.read[o]).join(', ')} (32-bit stores)` : ''} (offset ${off})`;
    }
    return null;
  };
}

// struct __sk_buff: the u32 fields every skb program type may read.
const SKB_COMMON: Record<number, string> = {
  0: 'len', 4: 'pkt_type', 8: 'mark', 12: 'queue_mapping', 16: 'protocol', 20: 'vlan_present',
  24: 'vlan_tci', 28: 'vlan_proto', 32: 'priority', 36: 'ingress_ifindex', 40: 'ifindex', 44: 'tc_index',
  48: 'cb[0]', 52: 'cb[1]', 56: 'cb[2]', 60: 'cb[3]', 64: 'cb[4]', 68: 'hash', 84: 'napi_id',
};
const SKB_SOCK: Record<number, string> = {
  88: 'family', 92: 'remote_ip4', 96: 'local_ip4', 100: 'remote_ip6[0]', 104: 'remote_ip6[1]', 108: 'remote_ip6[2]',
  112: 'remote_ip6[3]', 116: 'local_ip6[0]', 120: 'local_ip6[1]', 124: 'local_ip6[2]', 128: 'local_ip6[3]',
  132: 'remote_port', 136: 'local_port',
};
const CB = [48, 52, 56, 60, 64];
const SKB_PTRS = { 76: PKT, 80: PKT_END, 140: PKT_META } as Record<number, RegVal>;

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
    case ProgType.PERF_EVENT: {
      // struct bpf_perf_event_data: pt_regs (8-byte loads only), then u64 sample_period and addr.
      const regs = PT_REGS_SIZE[process.arch] ?? 0;
      return { name: 'perf_event', check: bounded('perf_event', 0, regs + 16, 'struct bpf_perf_event_data (regs, sample_period, addr)', [8]) };
    }
    case ProgType.SOCKET_FILTER:
      return { name: 'socket_filter', ldAbs: true, check: fields({ name: 'socket_filter', read: SKB_COMMON, write: new Set(CB) }) };
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT: {
      const name = progType === ProgType.SCHED_CLS ? 'sched_cls' : 'sched_act';
      return {
        name, packet: 'rw', ldAbs: true,
        check: fields({ name, read: { ...SKB_COMMON, 72: 'tc_classid' }, write: new Set([8, 44, 32, 72, ...CB]), pointers: SKB_PTRS }),
      };
    }
    case ProgType.CGROUP_SKB:
      return {
        name: 'cgroup_skb', packet: 'ro',
        check: fields({ name: 'cgroup_skb', read: { ...SKB_COMMON, ...SKB_SOCK }, write: new Set([8, 32, ...CB]), pointers: { 76: PKT, 80: PKT_END } }),
      };
    case ProgType.XDP:
      return {
        name: 'xdp', packet: 'rw',
        check: fields({ name: 'xdp', read: { 12: 'ingress_ifindex', 16: 'rx_queue_index' }, pointers: { 0: PKT, 4: PKT_END, 8: PKT_META }, wholeOnly: true }),
      };
    default:
      return undefined;
  }
}

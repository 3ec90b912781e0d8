// Program sections by libbpf's naming conventions (tools/lib/bpf/libbpf.c section_defs): the
// section name gives the program type, the expected attach type, load flags, and what follows the
// first '/' names the attach target ("kprobe/do_unlinkat" → do_unlinkat).
import { AttachType as A, ProgType as P, type ProgTypeId } from '../asm/opcodes.js';

/** BPF_F_SLEEPABLE and BPF_F_XDP_HAS_FRAGS (prog_flags). */
export const ProgFlag = { SLEEPABLE: 1 << 4, XDP_HAS_FRAGS: 1 << 5 } as const;

interface Def {
  /** "kprobe+": "kprobe" alone or "kprobe/…"; "cgroup_skb/ingress": exactly that; "tc": exactly that */
  name: string;
  type: ProgTypeId;
  attach?: number;
  flags?: number;
}

const S = ProgFlag.SLEEPABLE, F = ProgFlag.XDP_HAS_FRAGS;
const DEFS: Def[] = [
  { name: 'socket', type: P.SOCKET_FILTER },
  { name: 'sk_reuseport/migrate', type: P.SK_REUSEPORT, attach: A.SK_REUSEPORT_SELECT_OR_MIGRATE },
  { name: 'sk_reuseport', type: P.SK_REUSEPORT, attach: A.SK_REUSEPORT_SELECT },
  { name: 'kprobe+', type: P.KPROBE }, { name: 'uprobe+', type: P.KPROBE }, { name: 'uprobe.s+', type: P.KPROBE, flags: S },
  { name: 'kretprobe+', type: P.KPROBE }, { name: 'uretprobe+', type: P.KPROBE }, { name: 'uretprobe.s+', type: P.KPROBE, flags: S },
  { name: 'kprobe.multi+', type: P.KPROBE, attach: A.TRACE_KPROBE_MULTI }, { name: 'kretprobe.multi+', type: P.KPROBE, attach: A.TRACE_KPROBE_MULTI },
  { name: 'kprobe.session+', type: P.KPROBE, attach: A.TRACE_KPROBE_SESSION },
  { name: 'uprobe.multi+', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI }, { name: 'uretprobe.multi+', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI },
  { name: 'uprobe.multi.s+', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, flags: S }, { name: 'uretprobe.multi.s+', type: P.KPROBE, attach: A.TRACE_UPROBE_MULTI, flags: S },
  { name: 'ksyscall+', type: P.KPROBE }, { name: 'kretsyscall+', type: P.KPROBE }, { name: 'usdt+', type: P.KPROBE }, { name: 'usdt.s+', type: P.KPROBE, flags: S },
  { name: 'tc/ingress', type: P.SCHED_CLS, attach: A.TCX_INGRESS }, { name: 'tc/egress', type: P.SCHED_CLS, attach: A.TCX_EGRESS },
  { name: 'tcx/ingress', type: P.SCHED_CLS, attach: A.TCX_INGRESS }, { name: 'tcx/egress', type: P.SCHED_CLS, attach: A.TCX_EGRESS },
  { name: 'tc', type: P.SCHED_CLS }, { name: 'classifier', type: P.SCHED_CLS }, { name: 'action', type: P.SCHED_ACT },
  { name: 'netkit/primary', type: P.SCHED_CLS, attach: A.NETKIT_PRIMARY }, { name: 'netkit/peer', type: P.SCHED_CLS, attach: A.NETKIT_PEER },
  { name: 'tracepoint+', type: P.TRACEPOINT }, { name: 'tp+', type: P.TRACEPOINT },
  { name: 'raw_tracepoint+', type: P.RAW_TRACEPOINT }, { name: 'raw_tp+', type: P.RAW_TRACEPOINT },
  { name: 'raw_tracepoint.w+', type: P.RAW_TRACEPOINT_WRITABLE }, { name: 'raw_tp.w+', type: P.RAW_TRACEPOINT_WRITABLE },
  { name: 'tp_btf+', type: P.TRACING, attach: A.TRACE_RAW_TP },
  { name: 'fentry+', type: P.TRACING, attach: A.TRACE_FENTRY }, { name: 'fmod_ret+', type: P.TRACING, attach: A.MODIFY_RETURN },
  { name: 'fexit+', type: P.TRACING, attach: A.TRACE_FEXIT }, { name: 'fentry.s+', type: P.TRACING, attach: A.TRACE_FENTRY, flags: S },
  { name: 'fmod_ret.s+', type: P.TRACING, attach: A.MODIFY_RETURN, flags: S }, { name: 'fexit.s+', type: P.TRACING, attach: A.TRACE_FEXIT, flags: S },
  { name: 'freplace+', type: P.EXT },
  { name: 'lsm+', type: P.LSM, attach: A.LSM_MAC }, { name: 'lsm.s+', type: P.LSM, attach: A.LSM_MAC, flags: S },
  { name: 'lsm_cgroup+', type: P.LSM, attach: A.LSM_CGROUP },
  { name: 'iter+', type: P.TRACING, attach: A.TRACE_ITER }, { name: 'iter.s+', type: P.TRACING, attach: A.TRACE_ITER, flags: S },
  { name: 'syscall', type: P.SYSCALL, flags: S },
  { name: 'xdp.frags/devmap', type: P.XDP, attach: A.XDP_DEVMAP, flags: F }, { name: 'xdp/devmap', type: P.XDP, attach: A.XDP_DEVMAP },
  { name: 'xdp.frags/cpumap', type: P.XDP, attach: A.XDP_CPUMAP, flags: F }, { name: 'xdp/cpumap', type: P.XDP, attach: A.XDP_CPUMAP },
  { name: 'xdp.frags', type: P.XDP, attach: A.XDP, flags: F }, { name: 'xdp', type: P.XDP, attach: A.XDP },
  { name: 'perf_event', type: P.PERF_EVENT },
  { name: 'lwt_in', type: P.LWT_IN }, { name: 'lwt_out', type: P.LWT_OUT }, { name: 'lwt_xmit', type: P.LWT_XMIT }, { name: 'lwt_seg6local', type: P.LWT_SEG6LOCAL },
  { name: 'sockops', type: P.SOCK_OPS, attach: A.CGROUP_SOCK_OPS },
  { name: 'sk_skb/stream_parser', type: P.SK_SKB, attach: A.SK_SKB_STREAM_PARSER },
  { name: 'sk_skb/stream_verdict', type: P.SK_SKB, attach: A.SK_SKB_STREAM_VERDICT },
  { name: 'sk_skb/verdict', type: P.SK_SKB, attach: A.SK_SKB_VERDICT }, { name: 'sk_skb', type: P.SK_SKB },
  { name: 'sk_msg', type: P.SK_MSG, attach: A.SK_MSG_VERDICT },
  { name: 'lirc_mode2', type: P.LIRC_MODE2, attach: A.LIRC_MODE2 },
  { name: 'flow_dissector', type: P.FLOW_DISSECTOR, attach: A.FLOW_DISSECTOR },
  { name: 'cgroup_skb/ingress', type: P.CGROUP_SKB, attach: A.CGROUP_INET_INGRESS },
  { name: 'cgroup_skb/egress', type: P.CGROUP_SKB, attach: A.CGROUP_INET_EGRESS },
  { name: 'cgroup/skb', type: P.CGROUP_SKB },
  { name: 'cgroup/sock_create', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_CREATE },
  { name: 'cgroup/sock_release', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_RELEASE },
  { name: 'cgroup/sock', type: P.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_CREATE },
  { name: 'cgroup/post_bind4', type: P.CGROUP_SOCK, attach: A.CGROUP_INET4_POST_BIND },
  { name: 'cgroup/post_bind6', type: P.CGROUP_SOCK, attach: A.CGROUP_INET6_POST_BIND },
  { name: 'cgroup/bind4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_BIND },
  { name: 'cgroup/bind6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_BIND },
  { name: 'cgroup/connect4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_CONNECT },
  { name: 'cgroup/connect6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_CONNECT },
  { name: 'cgroup/connect_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_CONNECT },
  { name: 'cgroup/sendmsg4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP4_SENDMSG },
  { name: 'cgroup/sendmsg6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP6_SENDMSG },
  { name: 'cgroup/sendmsg_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_SENDMSG },
  { name: 'cgroup/recvmsg4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP4_RECVMSG },
  { name: 'cgroup/recvmsg6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UDP6_RECVMSG },
  { name: 'cgroup/recvmsg_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_RECVMSG },
  { name: 'cgroup/getpeername4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_GETPEERNAME },
  { name: 'cgroup/getpeername6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_GETPEERNAME },
  { name: 'cgroup/getpeername_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_GETPEERNAME },
  { name: 'cgroup/getsockname4', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET4_GETSOCKNAME },
  { name: 'cgroup/getsockname6', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_INET6_GETSOCKNAME },
  { name: 'cgroup/getsockname_unix', type: P.CGROUP_SOCK_ADDR, attach: A.CGROUP_UNIX_GETSOCKNAME },
  { name: 'cgroup/sysctl', type: P.CGROUP_SYSCTL, attach: A.CGROUP_SYSCTL },
  { name: 'cgroup/getsockopt', type: P.CGROUP_SOCKOPT, attach: A.CGROUP_GETSOCKOPT },
  { name: 'cgroup/setsockopt', type: P.CGROUP_SOCKOPT, attach: A.CGROUP_SETSOCKOPT },
  { name: 'cgroup/dev', type: P.CGROUP_DEVICE, attach: A.CGROUP_DEVICE },
  { name: 'struct_ops+', type: P.STRUCT_OPS }, { name: 'struct_ops.s+', type: P.STRUCT_OPS, flags: S },
  { name: 'sk_lookup', type: P.SK_LOOKUP, attach: A.SK_LOOKUP },
  { name: 'netfilter', type: P.NETFILTER, attach: A.NETFILTER },
];

export interface SectionType {
  type: ProgTypeId;
  expectedAttachType?: number;
  progFlags?: number;
  /** the part after "prefix/", when the section names a target */
  attachTo?: string;
  /**
   * 'libbpf': matched as libbpf 1.x matches; 'prefix': only by the looser prefix rule of older
   * loaders (samples/bpf, iproute2: "xdp1", "socket0", "kprobe_sys_write")
   */
  match: 'libbpf' | 'prefix';
}

const base = (d: Def): string => (d.name.endsWith('+') ? d.name.slice(0, -1) : d.name);

/** The program type a section name implies, or undefined when it names none. */
export function sectionType(section: string): SectionType | undefined {
  for (const d of DEFS) {
    const b = base(d);
    const plus = d.name.endsWith('+');
    if (section === b || (plus && section.startsWith(b + '/'))) {
      const attachTo = plus && section.length > b.length + 1 ? section.slice(b.length + 1) : undefined;
      return { type: d.type, expectedAttachType: d.attach, progFlags: d.flags, attachTo, match: 'libbpf' };
    }
  }
  // Older loaders matched by prefix alone; take the longest base that prefixes the name.
  let best: Def | undefined;
  for (const d of DEFS) if (section.startsWith(base(d)) && (!best || base(d).length > base(best).length)) best = d;
  if (!best) return undefined;
  const rest = section.slice(base(best).length);
  return { type: best.type, expectedAttachType: best.attach, progFlags: best.flags, attachTo: rest.startsWith('/') ? rest.slice(1) : undefined, match: 'prefix' };
}

/** The kernel's names without BPF_PROG_TYPE_, lowercase: 'xdp', 'sched_cls', 'socket_filter' … */
export const PROG_TYPE_NAMES: Readonly<Record<string, ProgTypeId>> = Object.fromEntries(
  Object.entries(P).map(([k, v]) => [k.toLowerCase(), v]),
);

/** Program type names (the kernel's, without BPF_PROG_TYPE_): the shared ABI table's. */
export { progTypeByName, progTypeName } from '../asm/abi.js';

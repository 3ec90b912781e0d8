// Helper prototypes (argument and return kinds, as the kernel's bpf_func_proto declares them) and the
// helpers each program type may call. Only helpers listed here are accepted: each list is a subset of
// what the kernel offers that type, so an accepted call is one the kernel would also resolve.
import { MapType, ProgType } from '../../asm/opcodes.js';

export type ArgKind =
  /** CONST_PTR_TO_MAP: a map from ld_imm64, of one of `maps` */
  | 'map'
  /** PTR_TO_MAP_KEY / PTR_TO_MAP_VALUE: initialised memory of the (arg 1) map's key / value size */
  | 'key' | 'value'
  /** PTR_TO_CTX, unmodified */
  | 'ctx'
  /** PTR_TO_MEM|RDONLY: readable, initialised memory; its size is the next argument */
  | 'mem'
  /** PTR_TO_UNINIT_MEM: writable memory the helper fills; its size is the next argument */
  | 'uninit_mem'
  /** CONST_SIZE(_OR_ZERO) for the preceding memory argument; we require a known constant > 0 */
  | 'size'
  /** PTR_TO_MEM|MAYBE_NULL|RDONLY: as 'mem', or the number 0 with a size of 0 */
  | 'mem_or_null'
  /** CONST_SIZE_OR_ZERO after a 'mem_or_null' or 'uninit_mem': a known constant, 0 allowed */
  | 'size_or_zero'
  /** CONST_ALLOC_SIZE_OR_ZERO: size of a ring buffer reservation; known constant > 0 */
  | 'alloc_size'
  /** a ring buffer record from ringbuf_reserve, null-checked and unmodified (released by the call) */
  | 'ringbuf_rec'
  /** ANYTHING: any initialised register */
  | 'any';

export type RetKind = 'int' | 'void' | 'value_or_null' | 'ringbuf_or_null';

export interface Proto {
  args: ArgKind[];
  ret: RetKind;
  /** the kernel refuses it to programs whose license is not GPL-compatible */
  gpl: boolean;
  /** map types the 'map' argument may be */
  maps?: number[];
  /** may move or resize the packet: every packet pointer is invalid afterwards */
  changesPkt?: boolean;
}

const DATA_MAPS = [MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.LPM_TRIE];

/** By helper name without the bpf_ prefix. */
export const PROTOS: Record<string, Proto> = {
  map_lookup_elem: { args: ['map', 'key'], ret: 'value_or_null', gpl: false, maps: DATA_MAPS },
  map_update_elem: { args: ['map', 'key', 'value', 'any'], ret: 'int', gpl: false, maps: DATA_MAPS },
  map_delete_elem: { args: ['map', 'key'], ret: 'int', gpl: false, maps: DATA_MAPS },
  ktime_get_ns: { args: [], ret: 'int', gpl: false },
  ktime_get_boot_ns: { args: [], ret: 'int', gpl: false },
  get_prandom_u32: { args: [], ret: 'int', gpl: false },
  get_smp_processor_id: { args: [], ret: 'int', gpl: false },
  get_current_pid_tgid: { args: [], ret: 'int', gpl: false },
  get_current_uid_gid: { args: [], ret: 'int', gpl: false },
  get_current_comm: { args: ['uninit_mem', 'size'], ret: 'int', gpl: false },
  get_current_task: { args: [], ret: 'int', gpl: true },
  // variadic: the kernel's prototype declares only the format and its size, so r3-r5 go unchecked
  trace_printk: { args: ['mem', 'size'], ret: 'int', gpl: true },
  probe_read_kernel: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  probe_read_user: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  probe_read_kernel_str: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  probe_read_user_str: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  perf_event_output: { args: ['ctx', 'map', 'any', 'mem', 'size_or_zero'], ret: 'int', gpl: true, maps: [MapType.PERF_EVENT_ARRAY] },
  ringbuf_output: { args: ['map', 'mem', 'size_or_zero', 'any'], ret: 'int', gpl: false, maps: [MapType.RINGBUF] },
  ringbuf_reserve: { args: ['map', 'alloc_size', 'any'], ret: 'ringbuf_or_null', gpl: false, maps: [MapType.RINGBUF] },
  ringbuf_submit: { args: ['ringbuf_rec', 'any'], ret: 'void', gpl: false },
  ringbuf_discard: { args: ['ringbuf_rec', 'any'], ret: 'void', gpl: false },
  ringbuf_query: { args: ['map', 'any'], ret: 'int', gpl: false, maps: [MapType.RINGBUF] },
};

// More prototypes, as the kernel declares them (kernel/bpf/helpers.c, kernel/trace/bpf_trace.c,
// net/core/filter.c). gpl is true wherever we were not sure it is false: that only refuses more.
const CTX_ONLY: Proto = { args: ['ctx'], ret: 'int', gpl: false };
const CHANGES: Pick<Proto, 'changesPkt'> = { changesPkt: true };
Object.assign(PROTOS, {
  probe_read: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  probe_read_str: { args: ['uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  get_stackid: { args: ['ctx', 'map', 'any'], ret: 'int', gpl: true, maps: [MapType.STACK_TRACE] },
  get_stack: { args: ['ctx', 'uninit_mem', 'size_or_zero', 'any'], ret: 'int', gpl: true },
  perf_event_read: { args: ['map', 'any'], ret: 'int', gpl: true, maps: [MapType.PERF_EVENT_ARRAY] },
  perf_event_read_value: { args: ['map', 'any', 'uninit_mem', 'size'], ret: 'int', gpl: true, maps: [MapType.PERF_EVENT_ARRAY] },
  perf_prog_read_value: { args: ['ctx', 'uninit_mem', 'size'], ret: 'int', gpl: true },
  // RET_VOID: r0 is unreadable after a tail call that did not happen
  tail_call: { args: ['ctx', 'map', 'any'], ret: 'void', gpl: false, maps: [MapType.PROG_ARRAY] },
  get_current_cgroup_id: { args: [], ret: 'int', gpl: false },
  current_task_under_cgroup: { args: ['map', 'any'], ret: 'int', gpl: true, maps: [MapType.CGROUP_ARRAY] },
  get_current_ancestor_cgroup_id: { args: ['any'], ret: 'int', gpl: true },
  get_numa_node_id: { args: [], ret: 'int', gpl: false },
  jiffies64: { args: [], ret: 'int', gpl: true },
  ktime_get_coarse_ns: { args: [], ret: 'int', gpl: true },
  send_signal: { args: ['any'], ret: 'int', gpl: true },
  get_func_ip: { args: ['ctx'], ret: 'int', gpl: true },
  get_attach_cookie: { args: ['ctx'], ret: 'int', gpl: true },
  get_ns_current_pid_tgid: { args: ['any', 'any', 'uninit_mem', 'size'], ret: 'int', gpl: true },
  // skb and xdp
  skb_load_bytes: { args: ['ctx', 'any', 'uninit_mem', 'size'], ret: 'int', gpl: false },
  skb_load_bytes_relative: { args: ['ctx', 'any', 'uninit_mem', 'size', 'any'], ret: 'int', gpl: false },
  skb_store_bytes: { args: ['ctx', 'any', 'mem', 'size', 'any'], ret: 'int', gpl: false, ...CHANGES },
  l3_csum_replace: { args: ['ctx', 'any', 'any', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  l4_csum_replace: { args: ['ctx', 'any', 'any', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  csum_diff: { args: ['mem_or_null', 'size_or_zero', 'mem_or_null', 'size_or_zero', 'any'], ret: 'int', gpl: false },
  csum_update: { args: ['ctx', 'any'], ret: 'int', gpl: false },
  set_hash_invalid: { args: ['ctx'], ret: 'void', gpl: false },
  get_hash_recalc: CTX_ONLY,
  get_cgroup_classid: CTX_ONLY,
  get_socket_cookie: CTX_ONLY,
  get_socket_uid: CTX_ONLY,
  skb_cgroup_id: CTX_ONLY,
  skb_pull_data: { args: ['ctx', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_change_tail: { args: ['ctx', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_change_head: { args: ['ctx', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_adjust_room: { args: ['ctx', 'any', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_change_proto: { args: ['ctx', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_change_type: { args: ['ctx', 'any'], ret: 'int', gpl: false },
  skb_vlan_push: { args: ['ctx', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  skb_vlan_pop: { args: ['ctx'], ret: 'int', gpl: false, ...CHANGES },
  redirect: { args: ['any', 'any'], ret: 'int', gpl: false },
  clone_redirect: { args: ['ctx', 'any', 'any'], ret: 'int', gpl: false, ...CHANGES },
  redirect_map: { args: ['map', 'any', 'any'], ret: 'int', gpl: false, maps: [MapType.DEVMAP, MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP] },
  xdp_adjust_head: { args: ['ctx', 'any'], ret: 'int', gpl: false, ...CHANGES },
  xdp_adjust_meta: { args: ['ctx', 'any'], ret: 'int', gpl: false, ...CHANGES },
  xdp_adjust_tail: { args: ['ctx', 'any'], ret: 'int', gpl: false, ...CHANGES },
} satisfies Record<string, Proto>);

// bpf_base_func_proto() as seen by root (CAP_BPF + CAP_PERFMON).
const BASE = [
  'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'ktime_get_ns', 'get_prandom_u32',
  'get_smp_processor_id', 'trace_printk', 'ringbuf_output', 'ringbuf_reserve', 'ringbuf_submit',
  'ringbuf_discard', 'ringbuf_query', 'tail_call', 'ktime_get_boot_ns', 'get_numa_node_id',
  'probe_read_kernel', 'probe_read_kernel_str', 'get_current_task', 'jiffies64', 'ktime_get_coarse_ns',
];
// bpf_tracing_func_proto(), shared by kprobe, tracepoint, raw_tracepoint, perf_event
const TRACING = [
  ...BASE, 'perf_event_output', 'get_current_pid_tgid', 'get_current_uid_gid', 'get_current_comm',
  'probe_read_user', 'probe_read_user_str', 'perf_event_read',
  // bpf_probe_read(_str) exist only where user and kernel addresses cannot overlap (x86_64, not arm64)
  ...(process.arch === 'x64' ? ['probe_read', 'probe_read_str'] : []),
  'perf_event_read_value', 'get_current_cgroup_id', 'get_current_ancestor_cgroup_id', 'send_signal',
  'get_ns_current_pid_tgid', 'get_stackid', 'get_stack', 'current_task_under_cgroup',
];
const SOCKET = [...BASE, 'perf_event_output', 'skb_load_bytes', 'skb_load_bytes_relative', 'get_socket_cookie', 'get_socket_uid'];
const TC = [
  ...BASE, 'perf_event_output', 'skb_load_bytes', 'skb_load_bytes_relative', 'skb_store_bytes', 'l3_csum_replace',
  'l4_csum_replace', 'csum_diff', 'csum_update', 'set_hash_invalid', 'get_hash_recalc', 'get_cgroup_classid',
  'get_socket_cookie', 'get_socket_uid', 'skb_pull_data', 'skb_change_tail', 'skb_change_head',
  'skb_adjust_room', 'skb_change_proto', 'skb_change_type', 'skb_vlan_push', 'skb_vlan_pop', 'redirect', 'clone_redirect',
];
const XDP = [...BASE, 'perf_event_output', 'csum_diff', 'redirect', 'redirect_map', 'xdp_adjust_head', 'xdp_adjust_meta', 'xdp_adjust_tail'];
const CGROUP_SKB = [...BASE, 'perf_event_output', 'skb_load_bytes', 'skb_load_bytes_relative', 'get_socket_cookie', 'get_socket_uid', 'skb_cgroup_id'];

/** Helper names (no bpf_ prefix) each supported program type may call. */
export const ALLOWED: Record<number, ReadonlySet<string>> = {
  [ProgType.RAW_TRACEPOINT]: new Set(TRACING),
  [ProgType.TRACEPOINT]: new Set([...TRACING, 'get_attach_cookie']),
  [ProgType.KPROBE]: new Set([...TRACING, 'get_func_ip', 'get_attach_cookie']),
  [ProgType.PERF_EVENT]: new Set([...TRACING, 'perf_prog_read_value', 'get_attach_cookie']),
  [ProgType.SOCKET_FILTER]: new Set(SOCKET),
  [ProgType.SCHED_CLS]: new Set(TC),
  [ProgType.SCHED_ACT]: new Set(TC),
  [ProgType.CGROUP_SKB]: new Set(CGROUP_SKB),
  [ProgType.XDP]: new Set(XDP),
};

/** The kernel's license_is_gpl_compatible(). */
export function gplCompatible(license: string): boolean {
  return ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'].includes(license);
}

export { mapTypeName } from '../../asm/abi.js';

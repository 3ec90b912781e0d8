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
}

const DATA_MAPS = [MapType.HASH, MapType.ARRAY, MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH];

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
  current_task_under_cgroup: { args: ['map', 'any'], ret: 'int', gpl: false, maps: [MapType.CGROUP_ARRAY] },
  // variadic: the kernel's prototype declares only the format and its size, so r3-r5 go unchecked
  trace_printk: { args: ['mem', 'size'], ret: 'int', gpl: true },
  probe_read_kernel: { args: ['uninit_mem', 'size', 'any'], ret: 'int', gpl: true },
  probe_read_user: { args: ['uninit_mem', 'size', 'any'], ret: 'int', gpl: true },
  probe_read_kernel_str: { args: ['uninit_mem', 'size', 'any'], ret: 'int', gpl: true },
  probe_read_user_str: { args: ['uninit_mem', 'size', 'any'], ret: 'int', gpl: true },
  perf_event_output: { args: ['ctx', 'map', 'any', 'mem', 'size'], ret: 'int', gpl: true, maps: [MapType.PERF_EVENT_ARRAY] },
  ringbuf_output: { args: ['map', 'mem', 'size', 'any'], ret: 'int', gpl: false, maps: [MapType.RINGBUF] },
  ringbuf_reserve: { args: ['map', 'alloc_size', 'any'], ret: 'ringbuf_or_null', gpl: false, maps: [MapType.RINGBUF] },
  ringbuf_submit: { args: ['ringbuf_rec', 'any'], ret: 'void', gpl: false },
  ringbuf_discard: { args: ['ringbuf_rec', 'any'], ret: 'void', gpl: false },
  ringbuf_query: { args: ['map', 'any'], ret: 'int', gpl: false, maps: [MapType.RINGBUF] },
};

const BASE = [
  'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'ktime_get_ns', 'get_prandom_u32',
  'get_smp_processor_id', 'trace_printk', 'perf_event_output',
  'ringbuf_output', 'ringbuf_reserve', 'ringbuf_submit', 'ringbuf_discard', 'ringbuf_query',
];
const TRACING = [
  ...BASE, 'ktime_get_boot_ns', 'get_current_pid_tgid', 'get_current_uid_gid', 'get_current_comm',
  'get_current_task', 'current_task_under_cgroup', 'probe_read_kernel', 'probe_read_user', 'probe_read_kernel_str', 'probe_read_user_str',
];

/** Helper names (no bpf_ prefix) each supported program type may call. */
export const ALLOWED: Record<number, ReadonlySet<string>> = {
  [ProgType.RAW_TRACEPOINT]: new Set(TRACING),
  [ProgType.TRACEPOINT]: new Set(TRACING),
  [ProgType.KPROBE]: new Set(TRACING),
  [ProgType.SOCKET_FILTER]: new Set(BASE),
  [ProgType.XDP]: new Set(BASE),
};

/** The kernel's license_is_gpl_compatible(). */
export function gplCompatible(license: string): boolean {
  return ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'].includes(license);
}

export function mapTypeName(t: number): string {
  const e = Object.entries(MapType).find(([, v]) => v === t);
  return e ? e[0].toLowerCase() : `type ${t}`;
}

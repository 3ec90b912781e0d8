// Kernel ABI values shared by every layer: program and map types (include/uapi/linux/bpf.h), map
// flags, and errno numbers (include/uapi/asm-generic/errno*.h). One home, so the loader, the engine,
// the verifier, the tracer and diag cannot drift apart.

/** enum bpf_prog_type. */
export const ProgType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  RAW_TRACEPOINT: 17,
  CGROUP_SOCK_ADDR: 18,
  LWT_SEG6LOCAL: 19,
  LIRC_MODE2: 20,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SYSCTL: 23,
  RAW_TRACEPOINT_WRITABLE: 24,
  CGROUP_SOCKOPT: 25,
  TRACING: 26,
  STRUCT_OPS: 27,
  EXT: 28,
  LSM: 29,
  SK_LOOKUP: 30,
  SYSCALL: 31,
  NETFILTER: 32,
} as const;
export type ProgTypeId = (typeof ProgType)[keyof typeof ProgType];

/** Expected attach types (enum bpf_attach_type), given at load time for the program types that need one. */
export const AttachType = {
  CGROUP_INET_INGRESS: 0, CGROUP_INET_EGRESS: 1, CGROUP_INET_SOCK_CREATE: 2, CGROUP_SOCK_OPS: 3, SK_SKB_STREAM_PARSER: 4,
  SK_SKB_STREAM_VERDICT: 5, CGROUP_DEVICE: 6, SK_MSG_VERDICT: 7, CGROUP_INET4_BIND: 8, CGROUP_INET6_BIND: 9,
  CGROUP_INET4_CONNECT: 10, CGROUP_INET6_CONNECT: 11, CGROUP_INET4_POST_BIND: 12, CGROUP_INET6_POST_BIND: 13,
  CGROUP_UDP4_SENDMSG: 14, CGROUP_UDP6_SENDMSG: 15, LIRC_MODE2: 16, FLOW_DISSECTOR: 17, CGROUP_SYSCTL: 18,
  CGROUP_UDP4_RECVMSG: 19, CGROUP_UDP6_RECVMSG: 20, CGROUP_GETSOCKOPT: 21, CGROUP_SETSOCKOPT: 22, TRACE_RAW_TP: 23,
  TRACE_FENTRY: 24, TRACE_FEXIT: 25, MODIFY_RETURN: 26, LSM_MAC: 27, TRACE_ITER: 28, CGROUP_INET4_GETPEERNAME: 29,
  CGROUP_INET6_GETPEERNAME: 30, CGROUP_INET4_GETSOCKNAME: 31, CGROUP_INET6_GETSOCKNAME: 32, XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34, XDP_CPUMAP: 35, SK_LOOKUP: 36, XDP: 37, SK_SKB_VERDICT: 38, SK_REUSEPORT_SELECT: 39,
  SK_REUSEPORT_SELECT_OR_MIGRATE: 40, PERF_EVENT: 41, TRACE_KPROBE_MULTI: 42, LSM_CGROUP: 43, STRUCT_OPS: 44,
  NETFILTER: 45, TCX_INGRESS: 46, TCX_EGRESS: 47, TRACE_UPROBE_MULTI: 48, CGROUP_UNIX_CONNECT: 49,
  CGROUP_UNIX_SENDMSG: 50, CGROUP_UNIX_RECVMSG: 51, CGROUP_UNIX_GETPEERNAME: 52, CGROUP_UNIX_GETSOCKNAME: 53,
  NETKIT_PRIMARY: 54, NETKIT_PEER: 55, TRACE_KPROBE_SESSION: 56, TRACE_UPROBE_SESSION: 57,
} as const;

/** enum bpf_map_type. */
export const MapType = {
  UNSPEC: 0,
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  CGROUP_ARRAY: 8,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  DEVMAP: 14,
  SOCKMAP: 15,
  CPUMAP: 16,
  XSKMAP: 17,
  SOCKHASH: 18,
  CGROUP_STORAGE: 19,
  REUSEPORT_SOCKARRAY: 20,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  SK_STORAGE: 24,
  DEVMAP_HASH: 25,
  STRUCT_OPS: 26,
  RINGBUF: 27,
  INODE_STORAGE: 28,
  TASK_STORAGE: 29,
  BLOOM_FILTER: 30,
  USER_RINGBUF: 31,
  CGRP_STORAGE: 32,
  ARENA: 33,
} as const;
export type MapTypeId = (typeof MapType)[keyof typeof MapType];

const lowerNames = (table: Record<string, number>): Map<number, string> =>
  new Map(Object.entries(table).map(([k, v]) => [v, k.toLowerCase()]));
const PROG_NAMES = lowerNames(ProgType);
const MAP_NAMES = lowerNames(MapType);
const PROG_BY_NAME = new Map([...PROG_NAMES].map(([v, k]) => [k, v]));

/** The kernel's name without BPF_PROG_TYPE_, lower case ("sched_cls"); "type N" when unknown. */
export function progTypeName(t: number): string {
  return PROG_NAMES.get(t) ?? `type ${t}`;
}

/** The program type for a name such as "xdp" or "BPF_PROG_TYPE_XDP"; undefined when unknown. */
export function progTypeByName(name: string): ProgTypeId | undefined {
  const bare = name.toLowerCase().replace(/^bpf_prog_type_/, '');
  return bare === 'unspec' ? undefined : (PROG_BY_NAME.get(bare) as ProgTypeId | undefined);
}

/** The kernel's name without BPF_MAP_TYPE_, lower case ("percpu_array"); "type N" when unknown. */
export function mapTypeName(t: number): string {
  return MAP_NAMES.get(t) ?? `type ${t}`;
}

/**
 * Map types whose values exist once per possible CPU (the kernel's bpf_map_value_size():
 * round_up(value_size, 8) * num_possible_cpus() for these, and only these).
 */
const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH, MapType.PERCPU_CGROUP_STORAGE,
]);
export function isPerCpuMapType(type: number): boolean {
  return PERCPU_MAP_TYPES.has(type);
}

/** BPF_F_* map creation flags. */
export const MapFlag = {
  NO_PREALLOC: 1 << 0,
  NO_COMMON_LRU: 1 << 1,
  NUMA_NODE: 1 << 2,
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
  STACK_BUILD_ID: 1 << 5,
  ZERO_SEED: 1 << 6,
  /** the program may read but not write the map (BPF_F_RDONLY_PROG) */
  RDONLY_PROG: 1 << 7,
  /** the program may write but not read the map (BPF_F_WRONLY_PROG) */
  WRONLY_PROG: 1 << 8,
  CLONE: 1 << 9,
  /** an array map user space can mmap (BPF_F_MMAPABLE) */
  MMAPABLE: 1 << 10,
  PRESERVE_ELEMS: 1 << 11,
  INNER_MAP: 1 << 12,
  LINK: 1 << 13,
  PATH_FD: 1 << 14,
  VTYPE_BTF_OBJ_FD: 1 << 15,
  TOKEN_FD: 1 << 16,
  SEGV_ON_FAULT: 1 << 17,
  NO_USER_CONV: 1 << 18,
} as const;

/** BPF_F_MMAPABLE (kept as its own name: the loader and the tracer use it by that name). */
export const BPF_F_MMAPABLE = MapFlag.MMAPABLE;
export const BPF_F_RDONLY_PROG = MapFlag.RDONLY_PROG;
export const BPF_F_WRONLY_PROG = MapFlag.WRONLY_PROG;

/** bpf_get_stackid / bpf_get_stack flags (the low 8 bits are the number of frames to skip). */
export const StackFlag = {
  SKIP_MASK: 0xff,
  /** the user stack instead of the kernel one (BPF_F_USER_STACK) */
  USER_STACK: 1 << 8,
  /** get_stackid: compare stacks by hash only (BPF_F_FAST_STACK_CMP) */
  FAST_STACK_CMP: 1 << 9,
  /** get_stackid: a colliding stack replaces the one stored (BPF_F_REUSE_STACKID) */
  REUSE_STACKID: 1 << 10,
  /** get_stack: user frames as {build id, file offset} (BPF_F_USER_BUILD_ID) */
  USER_BUILD_ID: 1 << 11,
} as const;
/** MapFlag.STACK_BUILD_ID under its kernel name: a stack map whose frames are struct bpf_stack_build_id. */
export const BPF_F_STACK_BUILD_ID = MapFlag.STACK_BUILD_ID;
/** enum bpf_stack_build_id_status: what a build-id stack frame holds. */
export const StackBuildIdStatus = {
  /** no frame (past the end of the stack) */
  EMPTY: 0,
  /** build_id and file offset are valid */
  VALID: 1,
  /** no build id could be read (anonymous memory, a file without one, mm lock busy): the raw ip */
  IP: 2,
} as const;
/** struct bpf_stack_build_id: s32 status, u8 build_id[20], union { u64 offset; u64 ip }. */
export const STACK_BUILD_ID_SIZE = 32;
export const BUILD_ID_SIZE_MAX = 20;
/** Most frames a stack map value may hold by default (sysctl kernel.perf_event_max_stack). */
export const PERF_MAX_STACK_DEPTH = 127;

/** Linux errno numbers (asm-generic: the table of x86_64 and arm64), and the kernel-internal ones. */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9, ECHILD: 10,
  EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, ENOTBLK: 15, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENODEV: 19,
  ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28,
  ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34, EDEADLK: 35, ENAMETOOLONG: 36,
  ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENOMSG: 42, EIDRM: 43, ECHRNG: 44, EL2NSYNC: 45,
  EL3HLT: 46, EL3RST: 47, ELNRNG: 48, EUNATCH: 49, ENOCSI: 50, EL2HLT: 51, EBADE: 52, EBADR: 53, EXFULL: 54,
  ENOANO: 55, EBADRQC: 56, EBADSLT: 57, EBFONT: 59, ENOSTR: 60, ENODATA: 61, ETIME: 62, ENOSR: 63,
  ENONET: 64, ENOPKG: 65, EREMOTE: 66, ENOLINK: 67, EADV: 68, ESRMNT: 69, ECOMM: 70, EPROTO: 71,
  EMULTIHOP: 72, EDOTDOT: 73, EBADMSG: 74, EOVERFLOW: 75, ENOTUNIQ: 76, EBADFD: 77, EREMCHG: 78,
  ELIBACC: 79, ELIBBAD: 80, ELIBSCN: 81, ELIBMAX: 82, ELIBEXEC: 83, EILSEQ: 84, ERESTART: 85, ESTRPIPE: 86,
  EUSERS: 87, ENOTSOCK: 88, EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93, ESOCKTNOSUPPORT: 94, EOPNOTSUPP: 95, EPFNOSUPPORT: 96, EAFNOSUPPORT: 97,
  EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101, ENETRESET: 102, ECONNABORTED: 103,
  ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ESHUTDOWN: 108, ETOOMANYREFS: 109,
  ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTDOWN: 112, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115,
  ESTALE: 116, EUCLEAN: 117, ENOTNAM: 118, ENAVAIL: 119, EISNAM: 120, EREMOTEIO: 121, EDQUOT: 122,
  ENOMEDIUM: 123, EMEDIUMTYPE: 124, ECANCELED: 125, ENOKEY: 126, EKEYEXPIRED: 127, EKEYREVOKED: 128,
  EKEYREJECTED: 129, EOWNERDEAD: 130, ENOTRECOVERABLE: 131, ERFKILL: 132, EHWPOISON: 133,
  // Kernel-internal (linux/errno.h): the restart codes reach the syscall-exit tracepoint (and ptrace)
  // before signal handling turns them into EINTR or a restart.
  ERESTARTSYS: 512, ERESTARTNOINTR: 513, ERESTARTNOHAND: 514, ENOIOCTLCMD: 515, ERESTART_RESTARTBLOCK: 516,
  EPROBE_DEFER: 517, EOPENSTALE: 518, ENOPARAM: 519, EBADHANDLE: 521, ENOTSYNC: 522, EBADCOOKIE: 523,
  ENOTSUPP: 524, ETOOSMALL: 525, ESERVERFAULT: 526, EBADTYPE: 527, EJUKEBOX: 528, EIOCBQUEUED: 529,
  ERECALLCONFLICT: 530,
} as const;
/** The largest errno a syscall returns (MAX_ERRNO): a result in -4095..-1 is an error, anything else a value. */
export const MAX_ERRNO = 4095;
export type ErrnoName = keyof typeof ERRNO;

const ERRNO_NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** "EPERM" for 1, etc.; "E<n>" for numbers not in the table. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

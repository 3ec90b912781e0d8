// libc access through ffi-rs, and native memory whose addresses we can put into bpf_attr.
// The kernel reads and writes user memory by address, so every buffer it sees lives here:
// malloc'd once, exposed to JS as a zero-copy Buffer, and grown (never shrunk) on demand.
import { open, load, DataType, createExternalBuffer, type JsExternal } from 'ffi-rs';
import { ERRNO, errnoName } from '../asm/abi.js';

const LIBC = 'libc';
open({ library: LIBC, path: 'libc.so.6' });

/** Syscall numbers that differ per architecture (asm-generic for arm64). */
const SYSCALL_NUMBERS: Record<string, { bpf: number; perfEventOpen: number }> = {
  x64: { bpf: 321, perfEventOpen: 298 },
  arm64: { bpf: 280, perfEventOpen: 241 },
};

function syscallNumbers(): { bpf: number; perfEventOpen: number } {
  const nrs = SYSCALL_NUMBERS[process.arch];
  if (!nrs) {
    throw new Error(`unsupported architecture ${process.arch}: the loader knows the bpf() syscall number only for x64 and arm64`);
  }
  return nrs;
}
export const SYS = syscallNumbers();

/** Result of a raw libc call: `ret` < 0 means failure, with `errno` set. */
export interface SysResult {
  ret: number;
  errno: number;
}

type WithErrno = { value: bigint; errnoCode: number };

// paramsType arrays are built once per arity: load() is on the hot path of every map access.
const bigintParams: DataType[][] = [0, 1, 2, 3, 4, 5, 6].map((n) => new Array<DataType>(n).fill(DataType.BigInt));

/** syscall(nr, args...) with every argument passed as a 64-bit integer. */
export function syscall(nr: number, ...args: (number | bigint)[]): SysResult {
  const values: bigint[] = [BigInt(nr)];
  for (const a of args) values.push(BigInt(a));
  const r = load({
    library: LIBC,
    funcName: 'syscall',
    retType: DataType.BigInt,
    paramsType: bigintParams[values.length]!,
    paramsValue: values,
    errno: true,
  }) as unknown as WithErrno;
  const ret = Number(r.value);
  return { ret, errno: ret < 0 ? r.errnoCode : 0 };
}

/** A libc function taking only integers/pointers and returning int. */
export function libcInt(funcName: string, ...args: (number | bigint)[]): SysResult {
  const r = load({
    library: LIBC,
    funcName,
    retType: DataType.BigInt,
    paramsType: bigintParams[args.length]!,
    paramsValue: args.map((a) => BigInt(a)),
    errno: true,
  }) as unknown as WithErrno;
  // Most of these return C int: only the low 32 bits are meaningful.
  const ret = Number(BigInt.asIntN(32, r.value));
  return { ret, errno: ret < 0 ? r.errnoCode : 0 };
}

/** glibc's sigset_t: 1024 bits. */
const SIGSET_BYTES = 128;
const SIG_BLOCK = 0, SIG_SETMASK = 2;

/**
 * Blocks `signals` for the calling thread (pthread_sigmask); returns the function that restores the
 * previous mask. Signals that arrive meanwhile stay pending and are delivered at the restore.
 */
export function blockSignals(signals: readonly number[]): () => void {
  const set = scratch('sigset', SIGSET_BYTES);
  for (const n of signals) set.buf[(n - 1) >> 3]! |= 1 << ((n - 1) & 7);
  // Its own slot: the caller may use the others before it restores.
  const old = scratch('sigset-old', SIGSET_BYTES);
  if (libcInt('pthread_sigmask', SIG_BLOCK, set.addr, old.addr).ret !== 0) return () => {};
  return () => {
    libcInt('pthread_sigmask', SIG_SETMASK, old.addr, 0);
  };
}

let page = 0;
/** The system page size (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  if (!page) page = libcInt('sysconf', 30).ret;
  return page;
}

export function closeRaw(fd: number): SysResult {
  return libcInt('close', fd);
}

export function ioctl(fd: number, request: number, arg: number | bigint): SysResult {
  return libcInt('ioctl', fd, request, arg);
}

/** A block of malloc'd memory: `addr` for the kernel, `buf` (same bytes) for us. */
export class NativeMemory {
  private constructor(readonly addr: bigint, readonly buf: Buffer, readonly size: number) {}

  static alloc(size: number): NativeMemory {
    const n = Math.max(8, size);
    const addr = load({
      library: LIBC, funcName: 'malloc', retType: DataType.BigInt,
      paramsType: [DataType.BigInt], paramsValue: [BigInt(n)],
    }) as bigint;
    if (addr === 0n) throw new Error(`malloc(${n}) failed: out of memory`);
    // memset returns its first argument; asking for it as External gives us a handle to wrap.
    const ext = load({
      library: LIBC, funcName: 'memset', retType: DataType.External,
      paramsType: [DataType.BigInt, DataType.I32, DataType.BigInt], paramsValue: [addr, 0, BigInt(n)],
    }) as JsExternal;
    return new NativeMemory(addr, createExternalBuffer(ext, n), n);
  }

  /** Frees the memory; `buf` must not be used afterwards. */
  free(): void {
    load({ library: LIBC, funcName: 'free', retType: DataType.Void, paramsType: [DataType.BigInt], paramsValue: [this.addr] });
  }
}

/** mmap failed: `errno` says why. */
export class MmapError extends Error {
  constructor(readonly errno: number, message: string) {
    super(message);
    this.name = 'MmapError';
  }
}

/** A shared mapping of a file descriptor (an mmapable BPF map, a ring buffer, a perf buffer): `buf` is a live view. */
export class MappedMemory {
  private unmapped = false;
  private constructor(readonly addr: bigint, readonly buf: Buffer, readonly size: number) {}

  /** Maps `size` bytes at `offset` of `fd`, read-only unless `write`. */
  static map(fd: number, size: number, opts: { write?: boolean; offset?: number } = {}): MappedMemory {
    const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    const prot = PROT_READ | (opts.write ? PROT_WRITE : 0);
    const r = load({
      library: LIBC, funcName: 'mmap', retType: DataType.BigInt, errno: true,
      paramsType: bigintParams[6]!, paramsValue: [0n, BigInt(size), BigInt(prot), BigInt(MAP_SHARED), BigInt(fd), BigInt(opts.offset ?? 0)],
    }) as unknown as WithErrno;
    if (r.value === -1n || r.value === 0xffff_ffff_ffff_ffffn) {
      throw new MmapError(r.errnoCode, `mmap of fd ${fd} (${size} bytes at ${opts.offset ?? 0}${opts.write ? ', writable' : ''}) failed: ${errnoName(r.errnoCode)} (${errnoMessage(r.errnoCode)})`);
    }
    // memmove(p, p, 0) touches nothing and returns p: the way to turn the address into a handle.
    const ext = load({
      library: LIBC, funcName: 'memmove', retType: DataType.External,
      paramsType: [DataType.BigInt, DataType.BigInt, DataType.BigInt], paramsValue: [r.value, r.value, 0n],
    }) as JsExternal;
    return new MappedMemory(r.value, createExternalBuffer(ext, size), size);
  }

  /** Unmaps (once); `buf` must not be used afterwards. */
  unmap(): void {
    if (this.unmapped) return;
    this.unmapped = true;
    libcInt('munmap', this.addr, this.size);
  }
}

const scratchRegions = new Map<string, NativeMemory>();

/**
 * Reusable native memory for one purpose (`slot`), at least `size` bytes, zero-filled over `size`.
 * The returned region is valid until the next scratch() call for the same slot that needs more room,
 * so a caller takes all its slots first and does not keep them across calls.
 */
export function scratch(slot: string, size: number): NativeMemory {
  let mem = scratchRegions.get(slot);
  if (!mem || mem.size < size) {
    const grown = Math.max(size, mem ? mem.size * 2 : 64);
    mem?.free();
    mem = NativeMemory.alloc(grown);
    scratchRegions.set(slot, mem);
  }
  mem.buf.fill(0, 0, size);
  return mem;
}

/** Copies `bytes` into the scratch slot and returns its address. */
export function scratchCopy(slot: string, bytes: Uint8Array): bigint {
  const mem = scratch(slot, bytes.length);
  mem.buf.set(bytes, 0);
  return mem.addr;
}

/** A NUL-terminated copy of `s` in the scratch slot; returns its address. */
export function scratchCString(slot: string, s: string): bigint {
  const bytes = Buffer.from(s + '\0', 'utf8');
  return scratchCopy(slot, bytes);
}

// errno number -> symbolic name, from Node's table, plus kernel-internal codes that leak out of bpf().
const EXTRA_MESSAGES: Record<number, string> = { 524: 'Operation is not supported' };

/** errno numbers and names: the one table in src/asm/abi.ts. */
export { errnoName };

const messageCache = new Map<number, string>();
/** strerror(errno), cached. */
export function errnoMessage(errno: number): string {
  const cached = messageCache.get(errno);
  if (cached) return cached;
  let text = EXTRA_MESSAGES[errno];
  if (!text) {
    text = load({
      library: LIBC, funcName: 'strerror', retType: DataType.String,
      paramsType: [DataType.I32], paramsValue: [errno],
    }) as string;
  }
  messageCache.set(errno, text);
  return text;
}

export { ERRNO };

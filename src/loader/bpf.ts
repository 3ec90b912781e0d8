// One function per bpf() command (and the perf_event_open/ioctl calls attaching needs).
// Thin on purpose: Buffers in, fds and booleans out, BpfError on failure. Everything the kernel
// reads or writes goes through native scratch memory (ffi.ts); sizes are checked before the call
// so a short Buffer can never let the kernel write past our memory.
import { ERRNO, SYS, blockSignals, closeRaw, ioctl, scratch, scratchCString, scratchCopy, syscall } from './ffi.js';
import { constants as osConstants } from 'node:os';
import * as L from './layouts.js';
import { BpfError, VerifierRejectedError, trimVerifierLog } from './errors.js';
import { track, untrack } from './registry.js';
import { MapType } from '../asm/opcodes.js';
import { possibleCpuCount } from './cpus.js';

export const Cmd = {
  MAP_CREATE: 0, MAP_LOOKUP_ELEM: 1, MAP_UPDATE_ELEM: 2, MAP_DELETE_ELEM: 3, MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5, PROG_TEST_RUN: 10, PROG_GET_NEXT_ID: 11, MAP_GET_NEXT_ID: 12, OBJ_GET_INFO_BY_FD: 15,
  RAW_TRACEPOINT_OPEN: 17, BTF_LOAD: 18, MAP_LOOKUP_AND_DELETE_ELEM: 21, MAP_FREEZE: 22, MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
} as const;
const CMD_NAMES = Object.fromEntries(Object.entries(Cmd).map(([k, v]) => [v, `BPF_${k}`])) as Record<number, string>;

/** BPF_MAP_UPDATE_ELEM flags. */
export const UpdateFlag = { ANY: 0, NOEXIST: 1, EXIST: 2, LOCK: 4 } as const;

function bpf<T>(cmd: number, layout: L.StructLayout<T>, fields: Partial<T>): { ret: number; errno: number; attr: Buffer } {
  const attr = scratch('attr', layout.span);
  layout.encode(fields as T, attr.buf, 0);
  const r = syscall(SYS.bpf, cmd, attr.addr, layout.span);
  return { ret: r.ret, errno: r.errno, attr: attr.buf };
}

function fail(cmd: number, errno: number, detail?: string): never {
  throw new BpfError(CMD_NAMES[cmd] ?? `bpf command ${cmd}`, errno, detail);
}

// ---- map shapes: what the kernel will read/write for each map fd -------------------------------

interface MapShape { type: number; keySize: number; valueSize: number; name: string }
const shapes = new Map<number, MapShape>();

import { isPerCpuMapType } from '../asm/abi.js';
export { isPerCpuMapType };

/** Bytes one lookup reads or writes: per-CPU maps hold one 8-byte-aligned slot per possible CPU. */
export function valueBytes(type: number, valueSize: number): number {
  return isPerCpuMapType(type) ? Math.ceil(valueSize / 8) * 8 * possibleCpuCount() : valueSize;
}

function shapeOf(fd: number): MapShape {
  let s = shapes.get(fd);
  if (!s) {
    const info = mapGetInfo(fd);
    s = { type: info.type, keySize: info.keySize, valueSize: info.valueSize, name: info.name };
    shapes.set(fd, s);
  }
  return s;
}

function checkLen(what: string, fd: number, given: number, expected: number, exact: boolean): void {
  if (exact ? given !== expected : given < expected) {
    const s = shapes.get(fd);
    throw new RangeError(`map ${s?.name ? `"${s.name}" ` : ''}(fd ${fd}): ${what} is ${given} bytes, expected ${exact ? '' : 'at least '}${expected}`);
  }
}

// ---- maps ------------------------------------------------------------------------------------

export interface MapCreateOptions {
  type: number; keySize: number; valueSize: number; maxEntries: number; flags?: number; name?: string;
  /** maps of maps: an fd of a map shaped like the inner maps */
  innerMapFd?: number;
}

export function mapCreate(o: MapCreateOptions): number {
  const { ret, errno } = bpf(Cmd.MAP_CREATE, L.mapCreateAttr, {
    mapType: o.type, keySize: o.keySize, valueSize: o.valueSize, maxEntries: o.maxEntries,
    mapFlags: o.flags ?? 0, name: sanitizeName(o.name ?? ''), innerMapFd: o.innerMapFd ?? 0,
  });
  if (ret < 0) {
    fail(Cmd.MAP_CREATE, errno, `map "${o.name ?? ''}" type ${o.type} key ${o.keySize} value ${o.valueSize} entries ${o.maxEntries}` +
      (errno === ERRNO.EPERM ? ' (needs root or CAP_BPF)' : ''));
  }
  shapes.set(ret, { type: o.type, keySize: o.keySize, valueSize: o.valueSize, name: o.name ?? '' });
  return track(ret, 'map', o.name ?? `map#${ret}`);
}

/** BPF_MAP_FREEZE: user space can no longer write the map (programs still can, unless BPF_F_RDONLY_PROG). */
export function mapFreeze(fd: number): void {
  const { ret, errno } = bpf(Cmd.MAP_FREEZE, L.mapElemAttr, { mapFd: fd });
  if (ret < 0) fail(Cmd.MAP_FREEZE, errno, `map fd ${fd}`);
}

/** Copies the value for `key` into `valueOut`; false when the key is absent. */
export function mapLookupElem(fd: number, key: Uint8Array, valueOut: Uint8Array): boolean {
  const s = shapeOf(fd);
  checkLen('key', fd, key.length, s.keySize, true);
  const vlen = valueBytes(s.type, s.valueSize);
  checkLen('value buffer', fd, valueOut.length, vlen, false);
  const k = scratchCopy('key', key);
  const v = scratch('value', vlen);
  const { ret, errno } = bpf(Cmd.MAP_LOOKUP_ELEM, L.mapElemAttr, { mapFd: fd, key: k, value: v.addr });
  if (ret < 0) {
    if (errno === ERRNO.ENOENT) return false;
    fail(Cmd.MAP_LOOKUP_ELEM, errno, `map fd ${fd}`);
  }
  valueOut.set(v.buf.subarray(0, vlen), 0);
  return true;
}

export function mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags: number = UpdateFlag.ANY): void {
  const s = shapeOf(fd);
  checkLen('key', fd, key.length, s.keySize, true);
  checkLen('value', fd, value.length, valueBytes(s.type, s.valueSize), true);
  const k = scratchCopy('key', key);
  const v = scratchCopy('value', value);
  const { ret, errno } = bpf(Cmd.MAP_UPDATE_ELEM, L.mapElemAttr, { mapFd: fd, key: k, value: v, flags: BigInt(flags) });
  if (ret < 0) fail(Cmd.MAP_UPDATE_ELEM, errno, `map fd ${fd}` + (errno === ERRNO.E2BIG ? ' (map is full)' : ''));
}

/** Errnos by which a kernel says a map type has no such command (older kernels, other map types). */
const UNSUPPORTED_ERRNOS = new Set<number>([ERRNO.EINVAL, ERRNO.ENOTSUPP, ERRNO.ENOSYS, ERRNO.EOPNOTSUPP]);

/**
 * Copies the value for `key` into `valueOut` and removes the entry, in one step: nothing can add to it
 * in between. False when the key is absent; undefined when this kernel has the command for no map of
 * this type (stack trace maps have it since Linux 6.18; hash maps since 5.14).
 */
export function mapLookupAndDeleteElem(fd: number, key: Uint8Array, valueOut: Uint8Array): boolean | undefined {
  const s = shapeOf(fd);
  checkLen('key', fd, key.length, s.keySize, true);
  const vlen = valueBytes(s.type, s.valueSize);
  checkLen('value buffer', fd, valueOut.length, vlen, false);
  const k = scratchCopy('key', key);
  const v = scratch('value', vlen);
  const { ret, errno } = bpf(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, L.mapElemAttr, { mapFd: fd, key: k, value: v.addr });
  if (ret < 0) {
    if (errno === ERRNO.ENOENT) return false;
    if (UNSUPPORTED_ERRNOS.has(errno)) return undefined;
    fail(Cmd.MAP_LOOKUP_AND_DELETE_ELEM, errno, `map fd ${fd}`);
  }
  valueOut.set(v.buf.subarray(0, vlen), 0);
  return true;
}

/** Deletes `key`; false when it was absent. */
export function mapDeleteElem(fd: number, key: Uint8Array): boolean {
  const s = shapeOf(fd);
  checkLen('key', fd, key.length, s.keySize, true);
  const k = scratchCopy('key', key);
  const { ret, errno } = bpf(Cmd.MAP_DELETE_ELEM, L.mapElemAttr, { mapFd: fd, key: k });
  if (ret < 0) {
    if (errno === ERRNO.ENOENT) return false;
    fail(Cmd.MAP_DELETE_ELEM, errno, `map fd ${fd}` + (errno === ERRNO.EINVAL ? ' (array map elements cannot be deleted)' : ''));
  }
  return true;
}

/** Writes the key after `key` (the first key when null) into `nextKeyOut`; false at the end. */
export function mapGetNextKey(fd: number, key: Uint8Array | null, nextKeyOut: Uint8Array): boolean {
  const s = shapeOf(fd);
  if (key) checkLen('key', fd, key.length, s.keySize, true);
  checkLen('next key buffer', fd, nextKeyOut.length, s.keySize, false);
  const k = key ? scratchCopy('key', key) : 0n;
  const n = scratch('nextkey', s.keySize);
  const { ret, errno } = bpf(Cmd.MAP_GET_NEXT_KEY, L.mapElemAttr, { mapFd: fd, key: k, value: n.addr });
  if (ret < 0) {
    if (errno === ERRNO.ENOENT) return false;
    fail(Cmd.MAP_GET_NEXT_KEY, errno, `map fd ${fd}`);
  }
  nextKeyOut.set(n.buf.subarray(0, s.keySize), 0);
  return true;
}

export interface BatchArgs {
  /** token from a previous call's outBatch; null to start */
  inBatch: Uint8Array | null;
  /** receives the token to continue from; at least max(keySize, 4) bytes */
  outBatch: Uint8Array;
  /** receives up to `count` keys, packed */
  keys: Uint8Array;
  /** receives up to `count` values, packed (per-CPU: valueBytes each) */
  values: Uint8Array;
  count: number;
  /** skip BPF_MAP_LOOKUP_BATCH and use get_next_key + lookup (tests, old kernels) */
  forceFallback?: boolean;
}

/** Map fds for which the kernel said batch lookup is unsupported: they stay on the fallback. */
const batchUnsupported = new Set<number>();
const BATCH_UNSUPPORTED_ERRNOS = UNSUPPORTED_ERRNOS;

/**
 * One batch command over scratch buffers, its results copied into the caller's. 'unsupported' when
 * the kernel refused the command itself for a first batch (errno in `unsupported`): nothing was read.
 */
function batchCall(cmd: number, fd: number, s: MapShape, vlen: number, a: BatchArgs, unsupported: ReadonlySet<number>): { count: number; done: boolean } | 'unsupported' {
  const token = Math.max(s.keySize, 8);
  const inB = a.inBatch ? scratch('batch_in', token) : null;
  if (inB && a.inBatch) inB.buf.set(a.inBatch.subarray(0, token), 0);
  const outB = scratch('batch_out', token);
  const keys = scratch('batch_keys', a.count * s.keySize);
  const values = scratch('batch_values', a.count * vlen);
  const { ret, errno, attr } = bpf(cmd, L.mapBatchAttr, {
    inBatch: inB?.addr ?? 0n, outBatch: outB.addr, keys: keys.addr, values: values.addr, count: a.count, mapFd: fd,
  });
  if (ret < 0 && errno !== ERRNO.ENOENT) {
    if (a.inBatch === null && unsupported.has(errno)) return 'unsupported';
    fail(cmd, errno, `map fd ${fd}` + (errno === ERRNO.ENOSPC ? ` (a hash bucket holds more than ${a.count} entries: pass a larger count)` : ''));
  }
  // ENOENT: the walk reached the end; count says how many of this last batch were filled.
  const count = L.mapBatchAttr.decode(attr).count;
  a.keys.set(keys.buf.subarray(0, count * s.keySize), 0);
  a.values.set(values.buf.subarray(0, count * vlen), 0);
  a.outBatch.set(outB.buf.subarray(0, Math.min(token, a.outBatch.length)), 0);
  return { count, done: ret < 0 };
}

/** The map's shape and value length, with the caller's buffers checked against them. */
function batchShape(fd: number, a: Omit<BatchArgs, 'forceFallback'>): { s: MapShape; vlen: number } {
  const s = shapeOf(fd);
  const vlen = valueBytes(s.type, s.valueSize);
  checkLen('keys buffer', fd, a.keys.length, a.count * s.keySize, false);
  checkLen('values buffer', fd, a.values.length, a.count * vlen, false);
  checkLen('outBatch token', fd, a.outBatch.length, Math.max(s.keySize, 4), false);
  return { s, vlen };
}

/**
 * Reads up to `count` entries. `done` is true when the map has no more entries after these.
 * Tokens from the batch command and from the fallback differ, so a walk started on one continues on it.
 */
export function mapLookupBatch(fd: number, a: BatchArgs): { count: number; done: boolean } {
  const { s, vlen } = batchShape(fd, a);
  if (a.forceFallback || batchUnsupported.has(fd)) return lookupBatchFallback(fd, s, vlen, a);
  const r = batchCall(Cmd.MAP_LOOKUP_BATCH, fd, s, vlen, a, BATCH_UNSUPPORTED_ERRNOS);
  if (r !== 'unsupported') return r;
  batchUnsupported.add(fd);
  return lookupBatchFallback(fd, s, vlen, a);
}

/** Whether batch reads of this map fd went to the fallback because the kernel refused the command. */
export function usesBatchFallback(fd: number): boolean {
  return batchUnsupported.has(fd);
}

/**
 * BPF_MAP_LOOKUP_AND_DELETE_BATCH: reads up to `count` entries and removes them, each taken whole (an
 * update racing with it lands before, and is read, or after, in a new entry). `done` as for
 * mapLookupBatch. Undefined when the kernel has no such command for this map type (nothing taken).
 */
export function mapLookupAndDeleteBatch(fd: number, a: Omit<BatchArgs, 'forceFallback'>): { count: number; done: boolean } | undefined {
  const { s, vlen } = batchShape(fd, a);
  const r = batchCall(Cmd.MAP_LOOKUP_AND_DELETE_BATCH, fd, s, vlen, a, UNSUPPORTED_ERRNOS);
  return r === 'unsupported' ? undefined : r;
}

function lookupBatchFallback(fd: number, s: MapShape, vlen: number, a: BatchArgs): { count: number; done: boolean } {
  let prev: Buffer | null = a.inBatch ? Buffer.from(a.inBatch.subarray(0, s.keySize)) : null;
  const next = Buffer.alloc(s.keySize);
  const value = Buffer.alloc(vlen);
  let count = 0;
  while (count < a.count) {
    if (!mapGetNextKey(fd, prev, next)) {
      if (prev) a.outBatch.set(prev, 0);
      return { count, done: true };
    }
    prev = Buffer.from(next);
    // An entry deleted between get_next_key and lookup is simply skipped.
    if (!mapLookupElem(fd, next, value)) continue;
    a.keys.set(next, count * s.keySize);
    a.values.set(value, count * vlen);
    count++;
  }
  if (prev) a.outBatch.set(prev, 0);
  return { count, done: false };
}

// ---- programs ----------------------------------------------------------------------------------

export interface ProgLoadOptions {
  type: number;
  /** encoded instruction slots (encodeRaw) */
  insns: Uint8Array;
  license: string;
  name?: string;
  /** 0: log only when loading fails (then retried with 1); 1, 2: verbose verifier log */
  logLevel?: number;
  /** initial log buffer size, bytes (default 1 MiB; grown when the kernel says ENOSPC) */
  logSize?: number;
  expectedAttachType?: number;
  progFlags?: number;
  /** tracing programs (fentry, tp_btf, lsm …): the kernel BTF id of the function or tracepoint */
  attachBtfId?: number;
  /** LINUX_VERSION_CODE, which kernels before 5.0 checked for kprobe programs */
  kernVersion?: number;
  /** an fd from btfLoad, and func_info records (insn index, BTF FUNC id) for every function */
  progBtfFd?: number;
  funcInfo?: ReadonlyArray<{ insn: number; typeId: number }>;
}

const MAX_LOG = 64 << 20;

/** Loads a program; throws VerifierRejectedError (with the log) when the verifier says no. */
const MAX_INTERRUPTED_LOADS = 10;

/**
 * Signals that only ask for attention later: blocked while the kernel verifies, they stay pending
 * instead of interrupting it (a profiler's SIGPROF comes every millisecond, as long as a large program's
 * verification takes). SIGINT, SIGTERM and the like still interrupt it.
 */
const DEFERRED_SIGNALS = (['SIGPROF', 'SIGCHLD', 'SIGALRM', 'SIGVTALRM', 'SIGWINCH', 'SIGURG'] as const)
  .map((name) => osConstants.signals[name]).filter((n): n is number => typeof n === 'number');

export function progLoad(o: ProgLoadOptions): number {
  const restore = blockSignals(DEFERRED_SIGNALS);
  try {
    return progLoadInner(o);
  } finally {
    restore();
  }
}

function progLoadInner(o: ProgLoadOptions): number {
  const name = o.name ?? '';
  if (o.insns.length === 0 || o.insns.length % 8 !== 0) {
    throw new RangeError(`program "${name}": bytecode is ${o.insns.length} bytes; expected a non-empty multiple of 8`);
  }
  let logLevel = o.logLevel ?? 0;
  let logSize = logLevel > 0 ? (o.logSize || 1 << 20) : 0;
  // The kernel's verifier gives up with EAGAIN when a signal arrives meanwhile (one not deferred
  // above): that is no verdict, so try again, as libbpf does.
  let interrupted = 0;
  for (;;) {
    const insns = scratchCopy('insns', o.insns);
    const license = scratchCString('license', o.license);
    const funcInfo = o.funcInfo?.length ? scratchCopy('funcInfo', encodeFuncInfo(o.funcInfo)) : 0n;
    const log = logSize > 0 ? scratch('log', logSize) : null;
    const { ret, errno, attr } = bpf(Cmd.PROG_LOAD, L.progLoadAttr, {
      progType: o.type, insnCnt: o.insns.length / 8, insns, license, logLevel, logSize,
      logBuf: log?.addr ?? 0n, name: sanitizeName(name), expectedAttachType: o.expectedAttachType ?? 0,
      progFlags: o.progFlags ?? 0, attachBtfId: o.attachBtfId ?? 0, kernVersion: o.kernVersion ?? 0,
      progBtfFd: o.progBtfFd ?? 0, funcInfo, funcInfoCnt: o.funcInfo?.length ?? 0, funcInfoRecSize: o.funcInfo?.length ? 8 : 0,
    });
    if (ret >= 0) return track(ret, 'prog', name || `prog#${ret}`);
    if (errno === ERRNO.EAGAIN && ++interrupted <= MAX_INTERRUPTED_LOADS) continue;
    if (errno === ERRNO.EPERM) {
      // As root, EPERM is the kernel refusing the program type itself (e.g. no fentry support).
      fail(Cmd.PROG_LOAD, errno, `program "${name}" ` + (process.getuid?.() === 0
        ? `(refused although running as root: this kernel may not offer program type ${o.type} or its attach point)`
        : '(needs root or CAP_BPF+CAP_PERFMON)'));
    }
    if (!log) {
      // Loaded without a log to save the verifier's time; now ask for one to explain the failure.
      if (errno === ERRNO.EACCES || errno === ERRNO.EINVAL) { logLevel = 1; logSize = o.logSize || 1 << 20; continue; }
      fail(Cmd.PROG_LOAD, errno, `program "${name}"`);
    }
    if (errno === ERRNO.ENOSPC && logSize < MAX_LOG) {
      const trueSize = L.progLoadAttr.decode(attr).logTrueSize;
      logSize = Math.min(MAX_LOG, Math.max(logSize * 4, trueSize + 1));
      continue;
    }
    const text = readCString(log.buf, logSize);
    if (text.trim() === '') fail(Cmd.PROG_LOAD, errno, `program "${name}" (the kernel gave no verifier log)`);
    const { excerpt, failedInsn } = trimVerifierLog(text);
    throw new VerifierRejectedError(name, errno, text, excerpt, failedInsn);
  }
}

export interface TestRunOptions {
  /** context bytes (raw_tracepoint: the u64 arguments) */
  ctxIn?: Uint8Array;
  /** packet bytes (socket filter, XDP, ...) */
  dataIn?: Uint8Array;
  /** room for the output packet */
  dataSizeOut?: number;
  ctxSizeOut?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
}
export interface TestRunResult { retval: number; durationNs: number; dataOut?: Buffer; ctxOut?: Buffer }

/** BPF_PROG_TEST_RUN: runs the program once (or `repeat` times) in the kernel on given input. */
export function progTestRun(progFd: number, o: TestRunOptions = {}): TestRunResult {
  const dataIn = o.dataIn ? scratchCopy('tr_data_in', o.dataIn) : 0n;
  const ctxIn = o.ctxIn ? scratchCopy('tr_ctx_in', o.ctxIn) : 0n;
  const dataOut = o.dataSizeOut ? scratch('tr_data_out', o.dataSizeOut) : null;
  const ctxOut = o.ctxSizeOut ? scratch('tr_ctx_out', o.ctxSizeOut) : null;
  const { ret, errno, attr } = bpf(Cmd.PROG_TEST_RUN, L.testRunAttr, {
    progFd, dataSizeIn: o.dataIn?.length ?? 0, dataSizeOut: o.dataSizeOut ?? 0, dataIn, dataOut: dataOut?.addr ?? 0n,
    repeat: o.repeat ?? 0, ctxSizeIn: o.ctxIn?.length ?? 0, ctxSizeOut: o.ctxSizeOut ?? 0, ctxIn, ctxOut: ctxOut?.addr ?? 0n,
    flags: o.flags ?? 0, cpu: o.cpu ?? 0,
  });
  if (ret < 0) fail(Cmd.PROG_TEST_RUN, errno, `program fd ${progFd}` + (errno === ERRNO.EINVAL ? ' (check the input sizes this program type accepts)' : ''));
  const r = L.testRunAttr.decode(attr);
  const out: TestRunResult = { retval: r.retval, durationNs: r.duration };
  if (dataOut) out.dataOut = Buffer.from(dataOut.buf.subarray(0, r.dataSizeOut));
  if (ctxOut) out.ctxOut = Buffer.from(ctxOut.buf.subarray(0, r.ctxSizeOut));
  return out;
}

// ---- info and ids ---------------------------------------------------------------------------------

/** BPF_OBJ_GET_INFO_BY_FD into `infoOut`; returns the number of bytes the kernel filled. */
export function objGetInfoByFd(fd: number, infoOut: Uint8Array): number {
  const mem = scratch('info', infoOut.length);
  const { ret, errno, attr } = bpf(Cmd.OBJ_GET_INFO_BY_FD, L.infoByFdAttr, { bpfFd: fd, infoLen: infoOut.length, info: mem.addr });
  if (ret < 0) fail(Cmd.OBJ_GET_INFO_BY_FD, errno, `fd ${fd}` + (errno === ERRNO.EBADF || errno === ERRNO.EBADFD ? ' is not open' : ''));
  const len = L.infoByFdAttr.decode(attr).infoLen;
  infoOut.set(mem.buf.subarray(0, infoOut.length), 0);
  return len;
}

export function progGetInfo(fd: number): L.ProgInfo {
  const buf = Buffer.alloc(L.progInfoLayout.span);
  objGetInfoByFd(fd, buf);
  const info = L.progInfoLayout.decode(buf);
  return { ...info, tag: Buffer.from(info.tag) };
}

export function mapGetInfo(fd: number): L.MapInfo {
  const buf = Buffer.alloc(L.mapInfoLayout.span);
  objGetInfoByFd(fd, buf);
  return L.mapInfoLayout.decode(buf);
}

function getNextId(cmd: number, startId: number): number | null {
  const { ret, errno, attr } = bpf(cmd, L.getNextIdAttr, { startId });
  if (ret < 0) {
    if (errno === ERRNO.ENOENT) return null;
    fail(cmd, errno);
  }
  return L.getNextIdAttr.decode(attr).nextId;
}
/** The id of the next loaded program after `startId` system-wide, or null. */
export const progGetNextId = (startId: number): number | null => getNextId(Cmd.PROG_GET_NEXT_ID, startId);
export const mapGetNextId = (startId: number): number | null => getNextId(Cmd.MAP_GET_NEXT_ID, startId);

// ---- attaching -------------------------------------------------------------------------------------

/** BPF_RAW_TRACEPOINT_OPEN: attaches a RAW_TRACEPOINT program; the returned fd is the link. */
export function rawTracepointOpen(name: string, progFd: number): number {
  const n = scratchCString('tp_name', name);
  const { ret, errno } = bpf(Cmd.RAW_TRACEPOINT_OPEN, L.rawTracepointAttr, { name: n, progFd });
  if (ret < 0) {
    fail(Cmd.RAW_TRACEPOINT_OPEN, errno, `raw tracepoint "${name}"` +
      (errno === ERRNO.ENOENT ? ' does not exist in this kernel' : errno === ERRNO.EINVAL ? ' (is the program of type RAW_TRACEPOINT?)' : ''));
  }
  return track(ret, 'link', `raw_tp:${name}`);
}

const PERF_TYPE_TRACEPOINT = 2;
const PERF_FLAG_FD_CLOEXEC = 8;
/** ioctl numbers, the same on x86_64 and aarch64. */
export const PerfIoctl = { ENABLE: 0x2400, DISABLE: 0x2401, SET_BPF: 0x40042408 } as const;

/** A tracepoint perf event on one CPU for every process (pid -1), created disabled. */
export function perfEventOpenTracepoint(tracepointId: number, cpu: number): number {
  const attr = scratch('perf_attr', L.perfEventAttrLayout.span);
  L.perfEventAttrLayout.encode({
    type: PERF_TYPE_TRACEPOINT, size: L.perfEventAttrLayout.span, config: BigInt(tracepointId),
    samplePeriod: 1n, flags: L.PerfFlag.DISABLED, wakeupEvents: 1,
  } as L.PerfEventAttr, attr.buf, 0);
  const r = syscall(SYS.perfEventOpen, attr.addr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (r.ret < 0) throw new BpfError(`perf_event_open(tracepoint ${tracepointId}, cpu ${cpu})`, r.errno);
  return track(r.ret, 'perf', `tracepoint#${tracepointId}@cpu${cpu}`);
}

const PERF_TYPE_SOFTWARE = 1, PERF_COUNT_SW_BPF_OUTPUT = 10, PERF_SAMPLE_RAW = 1n << 10n;

/** A software BPF-output event on one CPU for every process: what bpf_perf_event_output writes to. */
export function perfEventOpenBpfOutput(cpu: number): number {
  const attr = scratch('perf_attr', L.perfEventAttrLayout.span);
  L.perfEventAttrLayout.encode({
    type: PERF_TYPE_SOFTWARE, size: L.perfEventAttrLayout.span, config: BigInt(PERF_COUNT_SW_BPF_OUTPUT),
    samplePeriod: 1n, sampleType: PERF_SAMPLE_RAW, flags: 0n, wakeupEvents: 1,
  } as L.PerfEventAttr, attr.buf, 0);
  const r = syscall(SYS.perfEventOpen, attr.addr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (r.ret < 0) throw new BpfError(`perf_event_open(bpf output, cpu ${cpu})`, r.errno);
  return track(r.ret, 'perf', `bpf_output@cpu${cpu}`);
}

function perfIoctl(fd: number, req: number, arg: number, what: string): void {
  const r = ioctl(fd, req, arg);
  if (r.ret < 0) throw new BpfError(`ioctl(${what})`, r.errno, `perf event fd ${fd}`);
}
export const perfEventSetBpf = (fd: number, progFd: number): void => perfIoctl(fd, PerfIoctl.SET_BPF, progFd, 'PERF_EVENT_IOC_SET_BPF');
export const perfEventEnable = (fd: number): void => perfIoctl(fd, PerfIoctl.ENABLE, 0, 'PERF_EVENT_IOC_ENABLE');
export const perfEventDisable = (fd: number): void => perfIoctl(fd, PerfIoctl.DISABLE, 0, 'PERF_EVENT_IOC_DISABLE');

/** Closes an fd we opened (and forgets it in the registry). Closing twice is harmless. */
export function closeFd(fd: number): void {
  shapes.delete(fd);
  batchUnsupported.delete(fd);
  if (untrack(fd)) closeRaw(fd);
}

function encodeFuncInfo(records: ReadonlyArray<{ insn: number; typeId: number }>): Buffer {
  const b = Buffer.alloc(records.length * 8);
  records.forEach((r, i) => { b.writeUInt32LE(r.insn, i * 8); b.writeUInt32LE(r.typeId, i * 8 + 4); });
  return b;
}

// ---- BTF -------------------------------------------------------------------------------------------

/** BPF_BTF_LOAD: the kernel checks and keeps a BTF blob; the fd goes with programs (progBtfFd). */
export function btfLoad(data: Uint8Array): number {
  let logSize = 0;
  for (;;) {
    const btf = scratchCopy('btf', data);
    const log = logSize > 0 ? scratch('btfLog', logSize) : null;
    const { ret, errno } = bpf(Cmd.BTF_LOAD, L.btfLoadAttr, { btf, btfSize: data.length, btfLogBuf: log?.addr ?? 0n, btfLogSize: logSize, btfLogLevel: log ? 1 : 0 });
    if (ret >= 0) return track(ret, 'btf', 'btf');
    if (!log && (errno === ERRNO.EINVAL || errno === ERRNO.EACCES)) { logSize = 1 << 16; continue; }
    const text = log ? readCString(log.buf, logSize).trim().split('\n').filter((l) => l).pop() : undefined;
    fail(Cmd.BTF_LOAD, errno, text ? `the kernel's BTF check says: ${text}` : undefined);
  }
}

// ---- helpers ---------------------------------------------------------------------------------------

/** The kernel accepts only [A-Za-z0-9_.] in object names, at most 15 chars. */
export function sanitizeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);
}

function readCString(buf: Buffer, max: number): string {
  const end = buf.indexOf(0);
  return buf.toString('utf8', 0, end < 0 || end > max ? max : end);
}

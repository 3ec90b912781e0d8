// Byte layouts of the kernel structs we pass through bpf() and perf_event_open().
// Offsets follow include/uapi/linux/bpf.h and perf_event.h; fields we never set are padding
// (zero-filled), so a variant's span is only as long as the last field we use.
import BL, { Layout, type Structure } from 'buffer-layout';

/**
 * What we use of a buffer-layout Structure: a fixed-size struct codec. Declared here so that our
 * published type declarations do not depend on buffer-layout, which ships none.
 */
export interface StructLayout<T> {
  span: number;
  encode(src: T, b: Uint8Array, offset?: number): number;
  decode(b: Uint8Array, offset?: number): T;
}

const struct = <T>(fields: Layout<unknown>[]): StructLayout<T> => BL.struct(fields) as Structure<T>;

/** u64 as bigint (buffer-layout 1.x only has lossy number u64s). */
class U64 extends Layout<bigint> {
  constructor(property?: string) { super(8, property); }
  override decode(b: Uint8Array, offset = 0): bigint { return Buffer.from(b.buffer, b.byteOffset, b.byteLength).readBigUInt64LE(offset); }
  override encode(v: bigint, b: Uint8Array, offset = 0): number {
    Buffer.from(b.buffer, b.byteOffset, b.byteLength).writeBigUInt64LE(BigInt.asUintN(64, v), offset);
    return 8;
  }
}

/** char[n] holding a NUL-terminated name (BPF_OBJ_NAME_LEN = 16: at most 15 chars kept). */
class FixedCString extends Layout<string> {
  constructor(span: number, property?: string) { super(span, property); }
  override decode(b: Uint8Array, offset = 0): string {
    const bytes = b.subarray(offset, offset + this.span);
    const nul = bytes.indexOf(0);
    return Buffer.from(bytes.subarray(0, nul < 0 ? bytes.length : nul)).toString('utf8');
  }
  override encode(v: string, b: Uint8Array, offset = 0): number {
    const bytes = Buffer.from(v, 'utf8').subarray(0, this.span - 1);
    b.fill(0, offset, offset + this.span);
    b.set(bytes, offset);
    return this.span;
  }
}

const u32 = BL.u32;
const s32 = BL.s32;
const u64 = (p?: string) => new U64(p);
const pad = (n: number) => BL.blob(n);
const name16 = (p: string) => new FixedCString(16, p);

export interface MapCreateAttr {
  mapType: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number; name: string; innerMapFd: number;
}
export const mapCreateAttr = struct<MapCreateAttr>([
  u32('mapType'), u32('keySize'), u32('valueSize'), u32('maxEntries'), u32('mapFlags'),
  u32('innerMapFd'), u32('numaNode'), name16('name'),
  u32('mapIfindex'), u32('btfFd'), u32('btfKeyTypeId'), u32('btfValueTypeId'), u32('btfVmlinuxValueTypeId'),
  u64('mapExtra'),
]);

export interface MapElemAttr { mapFd: number; key: bigint; value: bigint; flags: bigint }
export const mapElemAttr = struct<MapElemAttr>([
  u32('mapFd'), pad(4), u64('key'), u64('value'), u64('flags'),
]);

export interface MapBatchAttr {
  inBatch: bigint; outBatch: bigint; keys: bigint; values: bigint; count: number; mapFd: number;
  elemFlags: bigint; flags: bigint;
}
export const mapBatchAttr = struct<MapBatchAttr>([
  u64('inBatch'), u64('outBatch'), u64('keys'), u64('values'), u32('count'), u32('mapFd'),
  u64('elemFlags'), u64('flags'),
]);

export interface ProgLoadAttr {
  progType: number; insnCnt: number; insns: bigint; license: bigint; logLevel: number; logSize: number;
  logBuf: bigint; progFlags: number; name: string; expectedAttachType: number; attachBtfId: number;
  logTrueSize: number; kernVersion: number; progBtfFd: number; funcInfo: bigint; funcInfoCnt: number; funcInfoRecSize: number;
}
export const progLoadAttr = struct<ProgLoadAttr>([
  u32('progType'), u32('insnCnt'), u64('insns'), u64('license'), u32('logLevel'), u32('logSize'),
  u64('logBuf'), u32('kernVersion'), u32('progFlags'), name16('name'), u32('progIfindex'),
  u32('expectedAttachType'), u32('progBtfFd'), u32('funcInfoRecSize'), u64('funcInfo'), u32('funcInfoCnt'),
  u32('lineInfoRecSize'), u64('lineInfo'), u32('lineInfoCnt'), u32('attachBtfId'), u32('attachProgFd'),
  u32('coreReloCnt'), u64('fdArray'), u64('coreRelos'), u32('coreReloRecSize'),
  // Since 6.4 the kernel reports here how big the log would have been.
  u32('logTrueSize'),
]);

export interface BtfLoadAttr { btf: bigint; btfLogBuf: bigint; btfSize: number; btfLogSize: number; btfLogLevel: number }
export const btfLoadAttr: StructLayout<BtfLoadAttr> = struct([
  u64('btf'), u64('btfLogBuf'), u32('btfSize'), u32('btfLogSize'), u32('btfLogLevel'), u32('btfLogTrueSize'),
]);

export interface InfoByFdAttr { bpfFd: number; infoLen: number; info: bigint }
export const infoByFdAttr = struct<InfoByFdAttr>([u32('bpfFd'), u32('infoLen'), u64('info')]);

export interface RawTracepointAttr { name: bigint; progFd: number }
export const rawTracepointAttr = struct<RawTracepointAttr>([u64('name'), u32('progFd'), pad(4)]);

export interface GetNextIdAttr { startId: number; nextId: number }
export const getNextIdAttr = struct<GetNextIdAttr>([u32('startId'), u32('nextId'), u32('openFlags')]);

export interface TestRunAttr {
  progFd: number; retval: number; dataSizeIn: number; dataSizeOut: number; dataIn: bigint; dataOut: bigint;
  repeat: number; duration: number; ctxSizeIn: number; ctxSizeOut: number; ctxIn: bigint; ctxOut: bigint;
  flags: number; cpu: number;
}
export const testRunAttr = struct<TestRunAttr>([
  u32('progFd'), u32('retval'), u32('dataSizeIn'), u32('dataSizeOut'), u64('dataIn'), u64('dataOut'),
  u32('repeat'), u32('duration'), u32('ctxSizeIn'), u32('ctxSizeOut'), u64('ctxIn'), u64('ctxOut'),
  u32('flags'), u32('cpu'),
]);

export interface ProgInfo {
  type: number; id: number; tag: Uint8Array; jitedProgLen: number; xlatedProgLen: number;
  loadTime: bigint; createdByUid: number; nrMapIds: number; name: string; runTimeNs: bigint;
  runCnt: bigint; verifiedInsns: number;
}
export const progInfoLayout = struct<ProgInfo>([
  u32('type'), u32('id'), BL.blob(8, 'tag'), u32('jitedProgLen'), u32('xlatedProgLen'),
  u64('jitedProgInsns'), u64('xlatedProgInsns'), u64('loadTime'), u32('createdByUid'), u32('nrMapIds'),
  u64('mapIds'), name16('name'), u32('ifindex'), u32('gplCompatible'), u64('netnsDev'), u64('netnsIno'),
  u32('nrJitedKsyms'), u32('nrJitedFuncLens'), u64('jitedKsyms'), u64('jitedFuncLens'), u32('btfId'),
  u32('funcInfoRecSize'), u64('funcInfo'), u32('nrFuncInfo'), u32('nrLineInfo'), u64('lineInfo'),
  u64('jitedLineInfo'), u32('nrJitedLineInfo'), u32('lineInfoRecSize'), u32('jitedLineInfoRecSize'),
  u32('nrProgTags'), u64('progTags'), u64('runTimeNs'), u64('runCnt'), u64('recursionMisses'),
  u32('verifiedInsns'), u32('attachBtfObjId'), u32('attachBtfId'), pad(4),
]);

export interface MapInfo {
  type: number; id: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number; name: string;
}
export const mapInfoLayout = struct<MapInfo>([
  u32('type'), u32('id'), u32('keySize'), u32('valueSize'), u32('maxEntries'), u32('mapFlags'), name16('name'),
  u32('ifindex'), u32('btfVmlinuxValueTypeId'), u64('netnsDev'), u64('netnsIno'), u32('btfId'),
  u32('btfKeyTypeId'), u32('btfValueTypeId'), pad(4), u64('mapExtra'),
]);

/** perf_event_attr up to config2 (PERF_ATTR_SIZE_VER1 = 72 bytes); the kernel accepts this size. */
export interface PerfEventAttr {
  type: number; size: number; config: bigint; samplePeriod: bigint; sampleType: bigint; readFormat: bigint;
  flags: bigint; wakeupEvents: number;
}
export const perfEventAttrLayout = struct<PerfEventAttr>([
  u32('type'), u32('size'), u64('config'), u64('samplePeriod'), u64('sampleType'), u64('readFormat'),
  // the bitfield word: bit 0 = disabled, 1 = inherit, ...
  u64('flags'), u32('wakeupEvents'), u32('bpType'), u64('config1'), u64('config2'),
]);
/** perf_event_attr.flags bits. */
export const PerfFlag = { DISABLED: 1n << 0n } as const;

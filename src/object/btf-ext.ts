// .BTF.ext (Documentation/bpf/llvm_reloc.rst, btf.rst §4.2): per-section records of function info,
// line info and CO-RE relocations. We read the CO-RE part: which instructions need a type-based
// fix-up before the program can load on a kernel whose structs differ from the build's.
import { ObjectError } from './errors.js';
import type { Btf } from '../btf/index.js';

/** enum bpf_core_relo_kind */
export const CoreKind = {
  FIELD_BYTE_OFFSET: 0, FIELD_BYTE_SIZE: 1, FIELD_EXISTS: 2, FIELD_SIGNED: 3, FIELD_LSHIFT_U64: 4, FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6, TYPE_ID_TARGET: 7, TYPE_EXISTS: 8, TYPE_SIZE: 9, ENUMVAL_EXISTS: 10, ENUMVAL_VALUE: 11, TYPE_MATCHES: 12,
} as const;

export interface CoreRelo {
  /** byte offset of the instruction in its section */
  insnOff: number;
  /** local BTF type id of the root type */
  typeId: number;
  /** "0:1:2": member/array indices from the root type */
  access: string;
  kind: number;
}

export interface FuncInfo {
  /** byte offset of the function's first instruction in its section */
  insnOff: number;
  /** its BTF FUNC type */
  typeId: number;
}

/** The func_info records (one per function, for the kernel's BTF-aware verification) per section name. */
export function readFuncInfos(ext: Uint8Array, btf: Btf): Map<string, FuncInfo[]> {
  const out = new Map<string, FuncInfo[]>();
  function fail(what: string): never { throw new ObjectError('btf', `.BTF.ext: ${what}`, '.BTF.ext'); }
  if (ext.length < 24) fail(`${ext.length} bytes, shorter than its header`);
  const v = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const le = btf.littleEndian;
  const hdrLen = v.getUint32(4, le);
  const off = hdrLen + v.getUint32(8, le), len = v.getUint32(12, le);
  if (len === 0) return out;
  if (off + len > ext.length) fail(`func info (${off}+${len}) extends past the end (${ext.length} bytes)`);
  const recSize = v.getUint32(off, le);
  if (recSize < 8) fail(`func info record size ${recSize} is smaller than 8`);
  let at = off + 4;
  const end = off + len;
  while (at + 8 <= end) {
    const sec = btf.str(v.getUint32(at, le)), n = v.getUint32(at + 4, le);
    at += 8;
    if (at + n * recSize > end) fail(`section "${sec}": ${n} func info records extend past the end`);
    const list = out.get(sec) ?? [];
    for (let i = 0; i < n; i++, at += recSize) list.push({ insnOff: v.getUint32(at, le), typeId: v.getUint32(at + 4, le) });
    out.set(sec, list);
  }
  return out;
}

/** CO-RE relocations per section name. Empty when the object has no .BTF.ext or no CO-RE part. */
export function readCoreRelos(ext: Uint8Array, btf: Btf): Map<string, CoreRelo[]> {
  const out = new Map<string, CoreRelo[]>();
  function fail(what: string): never { throw new ObjectError('btf', `.BTF.ext: ${what}`, '.BTF.ext'); }
  if (ext.length < 24) fail(`${ext.length} bytes, shorter than its header`);
  const v = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  const le = btf.littleEndian;
  if (v.getUint16(0, le) !== 0xeb9f) fail('bad magic');
  const hdrLen = v.getUint32(4, le);
  if (hdrLen < 32) return out; // no CO-RE part in this header version
  if (ext.length < 32) fail('header claims a CO-RE part but is cut off');
  const off = hdrLen + v.getUint32(24, le), len = v.getUint32(28, le);
  if (len === 0) return out;
  if (off + len > ext.length) fail(`CO-RE relocations (${off}+${len}) extend past the end (${ext.length} bytes)`);
  const recSize = v.getUint32(off, le);
  if (recSize < 16) fail(`CO-RE record size ${recSize} is smaller than 16`);
  let at = off + 4;
  const end = off + len;
  while (at + 8 <= end) {
    const sec = btf.str(v.getUint32(at, le)), n = v.getUint32(at + 4, le);
    at += 8;
    if (at + n * recSize > end) fail(`section "${sec}": ${n} CO-RE records extend past the end`);
    const list = out.get(sec) ?? [];
    for (let i = 0; i < n; i++, at += recSize) {
      list.push({ insnOff: v.getUint32(at, le), typeId: v.getUint32(at + 4, le), access: btf.str(v.getUint32(at + 8, le)), kind: v.getUint32(at + 12, le) });
    }
    out.set(sec, list);
  }
  return out;
}

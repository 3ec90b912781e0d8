// Bounds-checked reads of an ELF image in either byte order. Every read names what it was reading,
// so a bad file fails with "section header 7 ends at 0x... past the end (0x...)" instead of a
// RangeError from a DataView, and no length taken from the file is ever allocated before it is
// checked against the file's size.
import { ElfError } from './errors.js';

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

export class Bytes {
  private readonly view: DataView;
  constructor(readonly data: Uint8Array, readonly le: boolean, readonly source: string) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get length(): number { return this.data.length; }

  fail(problem: ConstructorParameters<typeof ElfError>[0], message: string): never {
    throw new ElfError(problem, message, this.source);
  }

  /** Throws unless [off, off+len) lies inside the file. `problem` is 'truncated' for headers the format requires. */
  need(off: number, len: number, what: string, problem: 'truncated' | 'bounds' = 'bounds'): void {
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off < 0 || len < 0 || off + len > this.data.length) {
      this.fail(problem, `${what} (${hex(off)}..${hex(off + len)}) extends past the end of the file (${hex(this.data.length)} bytes)`);
    }
  }

  u8(off: number): number { return this.view.getUint8(off); }
  u16(off: number): number { return this.view.getUint16(off, this.le); }
  u32(off: number): number { return this.view.getUint32(off, this.le); }
  i32(off: number): number { return this.view.getInt32(off, this.le); }
  u64(off: number): bigint { return this.view.getBigUint64(off, this.le); }
  i64(off: number): bigint { return this.view.getBigInt64(off, this.le); }

  /** A u64 that must be a file offset or size: past 2^53 it cannot be one, so it is out of bounds. */
  offset(off: number, what: string): number {
    const v = this.u64(off);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('bounds', `${what} ${hex(v)} is past the end of the file`);
    return Number(v);
  }

  /** The NUL-terminated string at `index` of a string table occupying [start, start+size). */
  cstring(start: number, size: number, index: number, what: string): string {
    if (index >= size) this.fail('bounds', `${what}: name offset ${index} is outside its string table (${size} bytes)`);
    const from = start + index, end = start + size;
    const nul = this.data.indexOf(0, from);
    if (nul < 0 || nul >= end) this.fail('malformed', `${what}: name at offset ${index} is not NUL-terminated inside its string table`);
    return Buffer.from(this.data.buffer, this.data.byteOffset + from, nul - from).toString('utf8');
  }
}

export { hex };

// The build id of an ELF file on disk without reading the whole file: the ELF header, the program
// headers and the PT_NOTE segments only (a few hundred bytes, where ElfFile.read takes megabytes). Used
// to find, among many candidate files, the one a stack frame's build id names.
import { closeSync, openSync, readSync } from 'node:fs';
import { Bytes } from './bytes.js';
import { ElfError } from './errors.js';
import { NT_GNU, PT } from './constants.js';

const EHDR_SIZE = 64, PHDR_SIZE = 56;
/** Notes bigger than this are not build-id notes (a build id note is 36 bytes). */
const MAX_NOTE_SEGMENT = 1 << 16;
const MAX_PHNUM = 4096;

/**
 * NT_GNU_BUILD_ID of the file at `path` as lowercase hex, or undefined when it has none. Throws
 * ElfError for a file that is not a readable 64-bit ELF file (problem 'bounds' when it cannot be read).
 */
export function readBuildIdOfFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new ElfError('bounds', `cannot read: ${(e as Error).message}`, path);
  }
  try {
    const read = (pos: number, len: number): Uint8Array => {
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, pos);
      return buf.subarray(0, n);
    };
    const head = read(0, EHDR_SIZE);
    if (head.length < 4 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
      throw new ElfError('not-elf', 'no ELF magic (\\x7fELF): not an ELF file', path);
    }
    if (head.length < EHDR_SIZE) throw new ElfError('truncated', `only ${head.length} bytes: shorter than an ELF header`, path);
    if (head[4] !== 2) throw new ElfError('unsupported', `ELF class ${head[4]}: only 64-bit ELF files are supported`, path);
    if (head[5] !== 1 && head[5] !== 2) throw new ElfError('unsupported', `unknown ELF data encoding ${head[5]}`, path);
    const h = new Bytes(head, head[5] === 1, path);
    const phoff = h.offset(32, 'e_phoff'), phentsize = h.u16(54), phnum = h.u16(56);
    if (phoff === 0 || phnum === 0) return undefined;
    if (phentsize !== PHDR_SIZE) h.fail('malformed', `e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
    if (phnum > MAX_PHNUM) h.fail('malformed', `${phnum} program headers`);
    const ph = read(phoff, phnum * PHDR_SIZE);
    if (ph.length < phnum * PHDR_SIZE) h.fail('truncated', `program header table (${phnum} entries) extends past the end of the file`);
    const p = new Bytes(ph, h.le, path);
    for (let i = 0; i < phnum; i++) {
      const at = i * PHDR_SIZE;
      if (p.u32(at) !== PT.NOTE) continue;
      const offset = p.offset(at + 8, `segment ${i} p_offset`), size = p.offset(at + 32, `segment ${i} p_filesz`);
      const align = p.offset(at + 48, `segment ${i} p_align`) === 8 ? 8 : 4;
      if (size > MAX_NOTE_SEGMENT) continue;
      const id = buildIdInNotes(new Bytes(read(offset, size), h.le, path), align);
      if (id !== undefined) return id;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

const up = (n: number, a: number): number => Math.ceil(n / a) * a;

function buildIdInNotes(b: Bytes, align: number): string | undefined {
  let at = 0;
  while (at + 12 <= b.length) {
    const namesz = b.u32(at), descsz = b.u32(at + 4), type = b.u32(at + 8);
    const descAt = at + up(12 + namesz, align);
    if (namesz > b.length || descsz > b.length || descAt + descsz > b.length) return undefined;
    if (type === NT_GNU.BUILD_ID && namesz === 4 && b.u8(at + 12) === 0x47 && b.u8(at + 13) === 0x4e && b.u8(at + 14) === 0x55) {
      return Buffer.from(b.data.buffer, b.data.byteOffset + descAt, descsz).toString('hex');
    }
    at = descAt + up(descsz, align);
  }
  return undefined;
}

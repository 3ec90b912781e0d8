// ELF notes (SHT_NOTE sections, or PT_NOTE segments when a file has no section headers), and the
// GNU build id that identifies an executable or library independent of its path.
import type { ElfFile } from './file.js';
import { NT_GNU, PT, SHT } from './constants.js';

export interface ElfNote {
  /** owner, e.g. "GNU" (without the NUL) */
  name: string;
  type: number;
  desc: Uint8Array;
  /** section the note is in ('' when read from a PT_NOTE segment) */
  section: string;
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function parseNotes(elf: ElfFile, offset: number, size: number, alignment: number, where: string): ElfNote[] {
  const b = elf.bytes;
  b.need(offset, size, `notes in ${where}`);
  // Notes are 4-byte aligned, except where the container says 8 (.note.gnu.property).
  const a = alignment === 8 ? 8 : 4;
  const out: ElfNote[] = [];
  let at = offset;
  const end = offset + size;
  while (at + 12 <= end) {
    const namesz = b.u32(at), descsz = b.u32(at + 4), type = b.u32(at + 8);
    // The descriptor starts at the next boundary after the 12-byte header and the name.
    const nameAt = at + 12, descAt = at + align(12 + namesz, a);
    const next = at + align(descAt - at + descsz, a);
    if (descAt + descsz > end) b.fail('bounds', `note at ${where}+${at - offset} (name ${namesz} bytes, desc ${descsz} bytes) extends past its container`);
    const rawName = elf.data.subarray(nameAt, nameAt + namesz);
    const nul = rawName.indexOf(0);
    out.push({
      name: Buffer.from(rawName.buffer, rawName.byteOffset, nul < 0 ? namesz : nul).toString('latin1'),
      type, desc: elf.data.subarray(descAt, descAt + descsz), section: where.startsWith('section ') ? where.slice(8) : '',
    });
    at = next;
  }
  return out;
}

export function readNotes(elf: ElfFile): ElfNote[] {
  const sections = elf.sections.filter((s) => s.type === SHT.NOTE);
  if (sections.length > 0) return sections.flatMap((s) => parseNotes(elf, s.offset, s.size, s.addralign, `section ${s.name}`));
  return elf.segments.filter((p) => p.type === PT.NOTE).flatMap((p, i) => parseNotes(elf, p.offset, p.filesz, p.align, `PT_NOTE segment ${i}`));
}

/** The NT_GNU_BUILD_ID as lowercase hex (what `readelf -n` prints and /usr/lib/debug/.build-id uses), or undefined. */
export function readBuildId(elf: ElfFile): string | undefined {
  const note = readNotes(elf).find((n) => n.name === 'GNU' && n.type === NT_GNU.BUILD_ID);
  return note ? Buffer.from(note.desc).toString('hex') : undefined;
}

// The object's .BTF as the kernel takes it (BPF_BTF_LOAD). clang leaves the sizes of DATASECs and
// the offsets of their variables to the loader (they are final only in the ELF symbol table), so
// we fill them in as libbpf does, and the kernel refuses extern functions (declared, defined in
// another object), which no func_info of ours names, so they are marked static. The rest is passed
// as written.
import { Btf, BtfKind } from '../btf/index.js';
import type { ElfSection, ElfSymbol } from '../elf/index.js';

/** BTF_FUNC_EXTERN, the linkage in a FUNC's vlen. */
const FUNC_EXTERN = 2;

/** A copy of `btf.data` with every DATASEC sized and its variables placed; undefined if one cannot be. */
export function kernelBtf(btf: Btf, sections: readonly ElfSection[], symbols: readonly ElfSymbol[]): Uint8Array | undefined {
  const out = Buffer.from(btf.data);
  const le = btf.littleEndian;
  const w = (at: number, v: number) => (le ? out.writeUInt32LE(v >>> 0, at) : out.writeUInt32BE(v >>> 0, at));
  for (let id = 1; id <= btf.typeCount; id++) {
    if (btf.kind(id) === BtfKind.FUNC && btf.count(id) === FUNC_EXTERN) {
      w(btf.recordOffset(id) + 4, BtfKind.FUNC << 24);
      continue;
    }
    if (btf.kind(id) !== BtfKind.DATASEC) continue;
    const name = btf.name(id);
    const sec = sections.find((s) => s.name === name);
    // Extern sections (.kconfig, .ksyms) have no ELF section: such objects are not loadable with BTF.
    if (!sec) return undefined;
    const vars = btf.datasecVars(id).map((v) => {
      const varName = btf.name(v.type);
      const sym = symbols.find((s) => s.shndx === sec.index && s.name === varName);
      return { ...v, offset: sym ? Number(sym.value) : v.offset };
    }).sort((a, b) => a.offset - b.offset);
    const at = btf.recordOffset(id);
    w(at + 8, sec.size);
    vars.forEach((v, i) => { w(at + 12 + 12 * i, v.type); w(at + 16 + 12 * i, v.offset); w(at + 20 + 12 * i, v.size); });
  }
  return out;
}

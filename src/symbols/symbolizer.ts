// Stack frames → function names, saying how each was named. A user frame is {build id, file offset}
// (resolved through the file with that build id, found by BuildIdLocator: PIE executables and shared
// libraries alike, via their program headers) or a bare address (resolved through the process's JIT
// map, then through its recorded /proc/PID/maps). What cannot be named is "[file+0xOFFSET]" or
// "[unknown]", never the nearest name.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { ElfError, ElfFile, SymbolIndex, SHT } from '../elf/index.js';
import { BuildIdLocator, padBuildId } from './build-ids.js';
import { KernelSymbols } from './kallsyms.js';
import { PerfMap } from './perf-map.js';
import { isFileMapping, mappingAt, readMaps, type Mapping } from './proc-maps.js';

export type RawUserFrame = { buildId: string; offset: number } | { ip: bigint };

/** How a frame was named. */
export type Resolution =
  /** the file's .symtab (or its separate debug file's) */
  | 'symtab'
  /** the file's .dynsym only (a stripped binary or library) */
  | 'dynsym'
  /** a JIT's /tmp/perf-PID.map */
  | 'perf-map'
  /** /proc/kallsyms */
  | 'kallsyms'
  /** the file is known, no symbol covers the spot: "[file+0xOFF]" */
  | 'file-offset'
  /** nothing known: "[unknown]" */
  | 'unknown';

export interface NamedFrame {
  name: string;
  how: Resolution;
}

interface FileSymbols {
  elf: ElfFile;
  index: SymbolIndex;
  how: 'symtab' | 'dynsym';
}

/** A file found by build id: its offsets → addresses (from the mapped file), its symbols (from the debug file when there is one). */
interface BuildIdFile {
  label: string;
  /** The mapped file's size: an offset past it is not a frame of this file (a bogus frame pointer). */
  size: number;
  toAddress(off: number): bigint | undefined;
  syms: FileSymbols | null;
}

export interface SymbolizerOptions {
  locator?: BuildIdLocator;
  /** perf-PID.map files older than this (ms since the epoch) belong to an earlier process: ignored. */
  perfMapsSince?: number;
  /** Where perf-PID.map files are (default /tmp). */
  perfMapDir?: string;
  kernel?: KernelSymbols;
}

export class Symbolizer {
  readonly locator: BuildIdLocator;
  private readonly files = new Map<string, FileSymbols | null>();
  private readonly byBuildId = new Map<string, BuildIdFile | null>();
  private readonly maps = new Map<number, Mapping[]>();
  private readonly perfMaps = new Map<number, PerfMap | null>();
  private readonly perfMapStamps = new Map<number, string>();
  private readonly cache = new Map<string, NamedFrame>();
  private kernelSyms: KernelSymbols | undefined;

  constructor(private readonly opts: SymbolizerOptions = {}) {
    this.locator = opts.locator ?? new BuildIdLocator();
    this.kernelSyms = opts.kernel;
  }

  /**
   * Records a live process's mappings (for its frames without build id) and the files it maps (to find
   * build ids). Returns false when the process is gone.
   */
  observe(pid: number): boolean {
    const maps = readMaps(pid);
    if (!maps) return false;
    this.recordMaps(pid, maps);
    return true;
  }

  recordMaps(pid: number, maps: Mapping[]): void {
    this.maps.set(pid, maps);
    for (const m of maps) if (isFileMapping(m)) this.locator.addPath(m.path);
  }

  hasMaps(pid: number): boolean {
    return this.maps.has(pid);
  }

  /**
   * Reads (again) a process's perf map while it may still be changing, when its size or time changed
   * since the last read; the last one read is kept when the file is gone later.
   */
  readPerfMap(pid: number): void {
    const path = `${this.opts.perfMapDir ?? '/tmp'}/perf-${pid}.map`;
    let stamp: string;
    try {
      const st = statSync(path);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      return;
    }
    if (this.perfMapStamps.get(pid) === stamp) return;
    const map = PerfMap.read(pid, this.opts.perfMapsSince ?? 0, this.opts.perfMapDir);
    if (map) {
      this.perfMaps.set(pid, map);
      this.perfMapStamps.set(pid, stamp);
    }
  }

  /**
   * One user frame of process `pid`. `leaf`: the innermost frame (its address is the instruction itself);
   * the others are return addresses, looked up one byte back so a call at the very end of a function is
   * not taken for the next one.
   */
  user(frame: RawUserFrame, pid: number, leaf: boolean): NamedFrame {
    if ('buildId' in frame) {
      const key = `${frame.buildId}:${frame.offset}:${leaf ? 1 : 0}`;
      let hit = this.cache.get(key);
      if (!hit) this.cache.set(key, (hit = this.atOffset(frame.buildId, frame.offset, leaf)));
      return hit;
    }
    return this.atAddress(frame.ip, pid, leaf);
  }

  /** A kernel address. */
  kernel(addr: bigint): NamedFrame {
    this.kernelSyms ??= KernelSymbols.read();
    const name = this.kernelSyms.lookup(addr);
    return name ? { name, how: 'kallsyms' } : { name: '[unknown]', how: 'unknown' };
  }

  private atOffset(buildId: string, offset: number, leaf: boolean): NamedFrame {
    const file = this.fileForBuildId(buildId);
    // An offset past the end of the file: the kernel took a bogus return address (code without frame
    // pointers leaves anything in the frame register) for one in the mapping above it.
    if (!file || offset >= file.size) return { name: '[unknown]', how: 'unknown' };
    const addr = file.toAddress(leaf || offset === 0 ? offset : offset - 1);
    const hit = addr === undefined ? null : file.syms?.index.lookup(addr);
    if (hit && file.syms) return { name: hit.symbol.name, how: file.syms.how };
    return { name: `[${file.label}+0x${offset.toString(16)}]`, how: 'file-offset' };
  }

  private atAddress(ip: bigint, pid: number, leaf: boolean): NamedFrame {
    const look = leaf || ip === 0n ? ip : ip - 1n;
    const jit = this.perfMap(pid)?.lookup(look);
    if (jit) return { name: jit, how: 'perf-map' };
    const maps = this.maps.get(pid);
    const m = maps ? mappingAt(maps, look) : undefined;
    if (m && isFileMapping(m)) {
      const off = Number(ip - m.start) + m.offset;
      const syms = this.fileSymbols(m.path);
      const hit = syms?.index.lookupFileOffset(Number(look - m.start) + m.offset);
      if (hit && syms) return { name: hit.symbol.name, how: syms.how };
      return { name: `[${basename(m.path)}+0x${off.toString(16)}]`, how: 'file-offset' };
    }
    return { name: '[unknown]', how: 'unknown' };
  }

  private perfMap(pid: number): PerfMap | undefined {
    if (!this.perfMaps.has(pid)) this.perfMaps.set(pid, PerfMap.read(pid, this.opts.perfMapsSince ?? 0, this.opts.perfMapDir) ?? null);
    return this.perfMaps.get(pid) ?? undefined;
  }

  private fileForBuildId(buildId: string): BuildIdFile | null {
    const id = padBuildId(buildId);
    let f = this.byBuildId.get(id);
    if (f !== undefined) return f;
    f = null;
    const found = this.locator.find(id);
    const own = found && found.path !== found.debug ? this.fileSymbols(found.path) : null;
    // A separate debug file has the full symbol table but no file contents (its PT_LOADs are empty):
    // offsets go through the mapped file's program headers, names through the debug file's symbols.
    const debug = found?.debug ? this.fileSymbols(found.debug) : null;
    const layout = own?.elf ?? this.elfOf(found && found.path !== found.debug ? found.path : undefined);
    if (found && layout) {
      const syms = debug ? { ...debug, how: 'symtab' as const } : own;
      f = { label: basename(found.path), size: layout.data.length, toAddress: (off) => layout.offsetToAddress(off), syms };
    } else if (found) {
      f = { label: `${id.slice(0, 12)}.debug`, size: 0, toAddress: () => undefined, syms: null };
    }
    this.byBuildId.set(id, f);
    return f;
  }

  /** The mapped file parsed for its program headers alone (it has no symbols worth indexing). */
  private elfOf(path: string | undefined): ElfFile | undefined {
    if (!path) return undefined;
    try {
      return ElfFile.read(path);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      return undefined;
    }
  }

  private fileSymbols(path: string): FileSymbols | null {
    let f = this.files.get(path);
    if (f !== undefined) return f;
    try {
      const elf = ElfFile.read(path);
      const index = new SymbolIndex(elf, basename(path));
      f = index.size > 0 ? { elf, index, how: elf.sections.some((s) => s.type === SHT.SYMTAB) ? 'symtab' : 'dynsym' } : null;
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      f = null;
    }
    this.files.set(path, f);
    return f;
  }
}

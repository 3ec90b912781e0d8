// Finds the file a build id names. A stack frame of the kind {build id, file offset} outlives its
// process, but not the search for its file: we look, in this order, in the files we know the tree
// mapped (its processes' /proc/PID/maps, the executables it ran), in the debug directory
// (/usr/lib/debug/.build-id/xx/rest.debug), then in the directories of those files, the PATH and the
// usual library directories, reading only each file's headers.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readBuildIdOfFile } from '../elf/index.js';

/** The kernel gives build ids as 20 bytes; a shorter id (16 or 8 bytes) is zero-padded. */
export const padBuildId = (hex: string): string => hex.toLowerCase().padEnd(40, '0').slice(0, 40);

export interface Located {
  /** The file that was mapped (its offsets are the frames' offsets). */
  path: string;
  /** A separate debug file with the full symbol table, when there is one. */
  debug?: string;
}

const LIBRARY_DIRS = [
  '/lib', '/lib64', '/usr/lib', '/usr/lib64', '/usr/local/lib',
  `/lib/${multiarch()}`, `/usr/lib/${multiarch()}`, `/usr/local/lib/${multiarch()}`,
];

function multiarch(): string {
  return process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : `${process.arch}-linux-gnu`;
}

/** Files bigger than this are not read for their build id when scanning directories (a core dump, an image). */
const MAX_SCAN_FILE = 2 ** 31;

export class BuildIdLocator {
  /** build id (padded) → file */
  private readonly byId = new Map<string, string>();
  /** paths whose build id has been read (or could not be) */
  private readonly read = new Set<string>();
  /** files known to be used by the tree, not yet read */
  private readonly pending: string[] = [];
  private readonly scannedDirs = new Set<string>();
  private dirQueue: string[] | undefined;

  constructor(private readonly opts: { debugDirs?: string[]; searchDirs?: string[]; scan?: boolean } = {}) {}

  /** A file the tree mapped or ran: the first place to look. */
  addPath(path: string): void {
    if (!path.startsWith('/') || this.read.has(path)) return;
    this.pending.push(path);
  }

  /** The file with this build id, or undefined when it is nowhere to be found. */
  find(buildId: string): Located | undefined {
    const id = padBuildId(buildId);
    const path = this.byId.get(id) ?? this.drainPending(id) ?? this.scan(id);
    const debug = this.debugFile(id);
    if (path) return debug ? { path, debug } : { path };
    // Only the debug file: its program headers are the original's, so offsets resolve the same way.
    return debug ? { path: debug, debug } : undefined;
  }

  private note(path: string): string | undefined {
    if (this.read.has(path)) return undefined;
    this.read.add(path);
    let id: string | undefined;
    try {
      id = readBuildIdOfFile(path);
    } catch {
      return undefined; // not an ELF file, unreadable, gone
    }
    if (id === undefined) return undefined;
    const key = padBuildId(id);
    if (!this.byId.has(key)) this.byId.set(key, path);
    return key;
  }

  private drainPending(id: string): string | undefined {
    while (this.pending.length > 0) {
      const path = this.pending.shift()!;
      if (this.note(path) === id) return path;
    }
    return undefined;
  }

  private debugFile(id: string): string | undefined {
    for (const dir of this.opts.debugDirs ?? ['/usr/lib/debug']) {
      // The debug directory names files by the id as readelf prints it, so by its real length.
      for (const len of [40, 32, 16]) {
        const hex = id.slice(0, len);
        if (len < 40 && /[^0]/.test(id.slice(len))) continue;
        const p = join(dir, '.build-id', hex.slice(0, 2), `${hex.slice(2)}.debug`);
        try {
          if (statSync(p).isFile()) return p;
        } catch { /* none */ }
      }
    }
    return undefined;
  }

  /** Reads the headers of the files in the candidate directories, one directory at a time, until the id turns up. */
  private scan(id: string): string | undefined {
    if (this.opts.scan === false) return undefined;
    this.dirQueue ??= [
      ...new Set([...this.opts.searchDirs ?? [], ...[...this.read].map((p) => dirname(p)), ...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...LIBRARY_DIRS]),
    ];
    // Directories of files learnt since the queue was made come first.
    for (const p of this.read) {
      const d = dirname(p);
      if (!this.scannedDirs.has(d) && !this.dirQueue.includes(d)) this.dirQueue.unshift(d);
    }
    while (this.dirQueue.length > 0) {
      const dir = this.dirQueue.shift()!;
      if (this.scannedDirs.has(dir)) continue;
      this.scannedDirs.add(dir);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      let found: string | undefined;
      for (const name of names) {
        const path = join(dir, name);
        if (this.read.has(path)) continue;
        try {
          const st = statSync(path);
          if (!st.isFile() || st.size > MAX_SCAN_FILE || st.size < 64) {
            this.read.add(path);
            continue;
          }
        } catch {
          this.read.add(path);
          continue;
        }
        if (this.note(path) === id) found ??= path;
      }
      if (found) return found;
    }
    return this.byId.get(id);
  }
}

// Pressure stall information (PSI) for each sample: cpu, memory and io, `some` and `full`, from the
// monitored process's own cgroup (v2) when it is in one other than the root, else from /proc/pressure
// (the whole system; the root cgroup's figures are the same). The cgroup is looked up again at every
// sample: a process can be moved (then the deltas restart from the new cgroup's figures), often right
// after it starts (a command that puts itself in a cgroup). The files are kept open and re-read in
// place while the cgroup stays the same: five open+read+close per sample cost about a seventh of the
// whole monitor's budget at 100 processes.
import { readFileSync } from 'node:fs';
import { SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import type { Capability, PsiBlock, PsiFigures, PsiResource } from './types.js';

const RESOURCES = ['cpu', 'memory', 'io'] as const;
type Resource = (typeof RESOURCES)[number];

function read(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

/** Parses a pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line). */
export function parsePressure(text: string): { some?: Omit<PsiFigures, 'total_us_delta'>; full?: Omit<PsiFigures, 'total_us_delta'> } {
  const out: ReturnType<typeof parsePressure> = {};
  for (const line of text.split('\n')) {
    const m = /^(some|full)\s+avg10=([\d.]+)\s+avg60=([\d.]+)\s+avg300=([\d.]+)\s+total=(\d+)\s*$/.exec(line.trim());
    if (!m) continue;
    out[m[1] as 'some' | 'full'] = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), total_us: Number(m[5]) };
  }
  return out;
}

/** Where cgroup v2 is mounted (the unified hierarchy: /sys/fs/cgroup, or /sys/fs/cgroup/unified in hybrid setups). */
export function cgroup2Mount(procRoot = '/proc'): { path: string; root: string } | null {
  const info = read(`${procRoot}/self/mountinfo`);
  if (!info) return null;
  for (const line of info.split('\n')) {
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    const [pre, post] = line.split(' - ');
    if (!pre || !post || post.split(' ')[0] !== 'cgroup2') continue;
    const f = pre.split(' ');
    if (f.length >= 5) return { root: unescape(f[3]!), path: unescape(f[4]!) };
  }
  return null;
}

/** mountinfo escapes space, tab, newline and backslash as \\ooo. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The v2 entry ("0::/path") of a /proc/PID/cgroup text, or null. */
function v2Entry(text: string | null): string | null {
  const m = text && /^0::(.*)$/m.exec(text);
  return m ? m[1]! : null;
}

/** The process's cgroup in the v2 hierarchy ("0::/path"), or null (no v2 entry, or gone). */
export function cgroupOf(pid: number, procRoot = '/proc'): string | null {
  return v2Entry(read(`${procRoot}/${pid}/cgroup`));
}

/** A file re-read in place through a descriptor kept open: one pread instead of open+read+close. */
class KeptFile {
  private fd = -1;
  constructor(readonly path: string) {}

  /** Its text now, or null (missing, or gone since: a removed cgroup's files fail with ENODEV). */
  read(): string | null {
    if (this.fd < 0) this.fd = openProc(this.path);
    if (this.fd < 0) return null;
    const n = preadProc(this.fd);
    if (n < 0) {
      this.close();
      return null;
    }
    return SCRATCH.toString('latin1', 0, n);
  }

  close(): void {
    closeProc(this.fd);
    this.fd = -1;
  }
}

/** Where pressure is read: /proc/pressure/cpu, or a cgroup's cpu.pressure. */
interface Source {
  dir: string;
  suffix: '' | '.pressure';
  block: Pick<PsiBlock, 'source' | 'cgroup'>;
}

export class PsiReader {
  private readonly mount: { path: string; root: string } | null;
  /** The pressure files' directory and what it names, as last used. */
  private source: Source | null = null;
  /** The previous total_us of each resource's some/full, by RESOURCES index × 2 (+1: full). */
  private prev: (number | undefined)[] = [];
  private cgroup: string | null = null;
  private readonly cgroupFile: KeptFile;
  /** The source's files (one per resource), open while the process stays in the same cgroup. */
  private files: KeptFile[] | null = null;
  /** When the process's cgroup was last looked up (ms since the epoch). */
  private checkedMs = -Infinity;

  /**
   * `cgroupRecheckMs`: how often the process's cgroup is looked up again (default: at every read; a
   * move is seen this late, and between lookups only the pressure files are read).
   */
  constructor(
    private readonly pid: number,
    private readonly procRoot = '/proc',
    private readonly systemDir = `${procRoot}/pressure`,
    private readonly cgroupRecheckMs = 0,
  ) {
    this.mount = cgroup2Mount(procRoot);
    this.cgroupFile = new KeptFile(`${procRoot}/${pid}/cgroup`);
    // The baseline: deltas of the first sample count from monitoring start.
    this.read();
  }

  /** Whether pressure is readable here at all, and from where. */
  capability(): Capability {
    if (this.source) return { available: true, source: this.source.block.source };
    return { available: false, reason: `no pressure files (${this.systemDir} is missing: a kernel without CONFIG_PSI, or booted with psi=0)` };
  }

  /** The block for this sample, or undefined where no pressure file can be read. */
  read(): PsiBlock | undefined {
    const nowMs = Date.now();
    let steady = this.files !== null && this.source !== null && nowMs - this.checkedMs < this.cgroupRecheckMs;
    if (!steady) {
      this.checkedMs = nowMs;
      // The process's cgroup now; once it has exited, the last one seen (then the source is checked
      // by path at every lookup, as the cgroup may be removed).
      const now = v2Entry(this.cgroupFile.read());
      steady = now !== null && now === this.cgroup && this.files !== null && this.source !== null;
      this.cgroup = now ?? this.cgroup;
      const src = steady ? this.source! : this.pick();
      if (!src) {
        this.source = null;
        this.closeFiles();
        return undefined;
      }
      if (this.source?.dir !== src.dir) this.prev = [];
      if (!steady) {
        this.closeFiles();
        this.files = RESOURCES.map((res) => new KeptFile(`${src.dir}/${res}${src.suffix}`));
      }
      this.source = src;
    }
    const src = this.source!;
    const files = this.files!;
    const block: PsiBlock = { ...src.block };
    let any = false;
    for (let i = 0; i < RESOURCES.length; i++) {
      const text = files[i]!.read();
      if (text === null) {
        // A kept file that fails (its cgroup went away): look for the source again, by path.
        if (i === 0 && steady) {
          this.closeFiles();
          return this.read();
        }
        continue;
      }
      const parsed = parsePressure(text);
      if (!parsed.some) continue;
      const entry: PsiResource = { some: this.withDelta(2 * i, parsed.some) };
      if (parsed.full) entry.full = this.withDelta(2 * i + 1, parsed.full);
      block[RESOURCES[i]!] = entry;
      any = true;
    }
    return any ? block : undefined;
  }

  /** Releases the descriptors kept open. */
  close(): void {
    this.closeFiles();
    this.cgroupFile.close();
  }

  private closeFiles(): void {
    for (const f of this.files ?? []) f.close();
    this.files = null;
  }

  private withDelta(slot: number, f: Omit<PsiFigures, 'total_us_delta'>): PsiFigures {
    const before = this.prev[slot];
    this.prev[slot] = f.total_us;
    return { avg10: f.avg10, avg60: f.avg60, avg300: f.avg300, total_us: f.total_us, total_us_delta: before === undefined ? 0 : Math.max(0, f.total_us - before) };
  }

  /** The process's own cgroup when it is not the root and its pressure files are readable; else the system's. */
  private pick(): Source | null {
    const cg = this.cgroup;
    if (this.mount && cg && cg !== '/') {
      // The path in /proc/PID/cgroup is relative to the hierarchy's root; the mount may show a subtree.
      const root = this.mount.root === '/' ? '' : this.mount.root;
      const rel = root && cg.startsWith(root) ? cg.slice(root.length) : cg;
      const dir = `${this.mount.path}${rel}`;
      if (read(`${dir}/cpu.pressure`) !== null) return { dir, suffix: '.pressure', block: { source: 'cgroup', cgroup: cg } };
    }
    if (read(`${this.systemDir}/cpu`) !== null) return { dir: this.systemDir, suffix: '', block: { source: 'system' } };
    return null;
  }
}

/** Whether pressure is readable for `pid`, and from where (for the metadata record). */
export function psiCapability(pid: number, procRoot = '/proc'): Capability {
  const reader = new PsiReader(pid, procRoot);
  try {
    return reader.capability();
  } finally {
    reader.close();
  }
}

// Pressure stall information (PSI) for each sample: cpu, memory and io, `some` and `full`, from the
// monitored process's own cgroup (v2) when it is in one other than the root, else from /proc/pressure
// (the whole system; the root cgroup's figures are the same). The cgroup is looked up again at every
// sample: a process can be moved (then the deltas restart from the new cgroup's figures).
import { readFileSync } from 'node:fs';
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

/** The process's cgroup in the v2 hierarchy ("0::/path"), or null (no v2 entry, or gone). */
export function cgroupOf(pid: number, procRoot = '/proc'): string | null {
  const text = read(`${procRoot}/${pid}/cgroup`);
  const m = text && /^0::(.*)$/m.exec(text);
  return m ? m[1]! : null;
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
  private prev = new Map<string, number>();
  private cgroup: string | null = null;

  constructor(
    private readonly pid: number,
    private readonly procRoot = '/proc',
    private readonly systemDir = `${procRoot}/pressure`,
  ) {
    this.mount = cgroup2Mount(procRoot);
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
    // The process's cgroup now; once it has exited, the last one seen.
    this.cgroup = cgroupOf(this.pid, this.procRoot) ?? this.cgroup;
    const src = this.pick();
    if (!src) {
      this.source = null;
      return undefined;
    }
    if (this.source?.dir !== src.dir) this.prev.clear();
    this.source = src;
    const block: PsiBlock = { ...src.block };
    let any = false;
    for (const res of RESOURCES) {
      const text = read(`${src.dir}/${res}${src.suffix}`);
      if (text === null) continue;
      const parsed = parsePressure(text);
      if (!parsed.some) continue;
      const entry: PsiResource = { some: this.withDelta(res, 'some', parsed.some) };
      if (parsed.full) entry.full = this.withDelta(res, 'full', parsed.full);
      block[res] = entry;
      any = true;
    }
    return any ? block : undefined;
  }

  private withDelta(res: Resource, kind: 'some' | 'full', f: Omit<PsiFigures, 'total_us_delta'>): PsiFigures {
    const key = `${res} ${kind}`;
    const before = this.prev.get(key);
    this.prev.set(key, f.total_us);
    return { ...f, total_us_delta: before === undefined ? 0 : Math.max(0, f.total_us - before) };
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
  return new PsiReader(pid, procRoot).capability();
}

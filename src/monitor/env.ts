// A description of the machine a run happened on, from /proc and /sys only. Every source may be
// missing (containers, other architectures): the field then becomes null (or 0 for unknown counts).
import { readdirSync } from 'node:fs';
import { readText } from './procfs.js';
import type { EnvRecord } from './types.js';

function text(path: string): string | null {
  try {
    const t = readText(path);
    return t === null ? null : t.trim();
  } catch {
    return null;
  }
}

function dir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** "0-3,8,10-11" -> [0,1,2,3,8,10,11]. */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-');
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (!Number.isInteger(lo) || !Number.isInteger(hi)) continue;
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

/** The bracketed choice of a sysfs selector ("always [madvise] never" -> "madvise"). */
export function selected(sysfsValue: string | null): string | null {
  if (sysfsValue === null) return null;
  const m = /\[([^\]]+)\]/.exec(sysfsValue);
  return m ? m[1]! : sysfsValue;
}

interface CpuInfo {
  model: string;
  sockets: number;
  cores: number;
  threads: number;
}

/** Topology from /sys (package and core ids of each online CPU), /proc/cpuinfo when /sys lacks it. */
function cpuInfo(): CpuInfo {
  const info = text('/proc/cpuinfo') ?? '';
  const field = (name: string): string | null => {
    const m = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info);
    return m ? m[1]!.trim() : null;
  };
  const model = field('model name') ?? field('Model') ?? field('Hardware') ?? field('cpu model') ?? field('CPU part') ?? 'unknown';

  const online = text('/sys/devices/system/cpu/online');
  const cpus = online ? parseCpuList(online) : [];
  const packages = new Set<string>();
  const cores = new Set<string>();
  for (const c of cpus) {
    const pkg = text(`/sys/devices/system/cpu/cpu${c}/topology/physical_package_id`);
    const core = text(`/sys/devices/system/cpu/cpu${c}/topology/core_id`);
    if (pkg === null || core === null) continue;
    packages.add(pkg);
    cores.add(`${pkg}:${core}`);
  }
  if (cpus.length > 0 && packages.size > 0) return { model, sockets: packages.size, cores: cores.size, threads: cpus.length };

  // /proc/cpuinfo: one block per logical CPU with "physical id" and "core id" on x86.
  const blocks = info.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  const pk = new Set<string>();
  const co = new Set<string>();
  for (const b of blocks) {
    const p = /^physical id\s*:\s*(\d+)/m.exec(b)?.[1] ?? '0';
    const c = /^core id\s*:\s*(\d+)/m.exec(b)?.[1];
    pk.add(p);
    co.add(`${p}:${c ?? co.size}`);
  }
  return { model, sockets: pk.size, cores: co.size, threads: blocks.length || cpus.length };
}

/** The cgroup v2 path ("0::/x"), else the v1 hierarchies joined with ';'. */
export function parseCgroup(content: string | null): string | null {
  if (content === null) return null;
  const lines = content.split('\n').filter((l) => l.trim() !== '');
  const v2 = lines.find((l) => l.startsWith('0::'));
  const v1 = lines.filter((l) => !l.startsWith('0::'));
  if (v2 && v1.length === 0) return v2.slice(3);
  if (lines.length === 0) return null;
  return lines.join(';');
}

export function collectEnv(pid: number = process.pid): EnvRecord {
  const status = text(`/proc/${pid}/status`) ?? text('/proc/self/status');
  const allowed = status ? /^Cpus_allowed_list:\s*(.*)$/m.exec(status)?.[1] : undefined;
  const nodes = dir('/sys/devices/system/node').filter((n) => /^node\d+$/.test(n)).length;
  const smtControl = text('/sys/devices/system/cpu/smt/control');
  const smtActive = text('/sys/devices/system/cpu/smt/active');
  return {
    kind: 'env',
    host: text('/proc/sys/kernel/hostname') ?? 'unknown',
    kernel: text('/proc/sys/kernel/osrelease') ?? 'unknown',
    cpu: cpuInfo(),
    // A kernel without NUMA support has no node directory: it has one memory node.
    numa_nodes: nodes || 1,
    affinity: allowed ? parseCpuList(allowed) : [],
    governor: text('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor'),
    thp: selected(text('/sys/kernel/mm/transparent_hugepage/enabled')),
    smt: smtControl === null ? null : smtActive === null ? smtControl : `${smtControl} (active ${smtActive})`,
    cgroup: parseCgroup(text(`/proc/${pid}/cgroup`)),
  };
}

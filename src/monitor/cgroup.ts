// A cgroup v2 as the monitored target (`attach --cgroup`): where the unified hierarchy is mounted, the
// cgroup a user names, and its processes (those of its descendant cgroups included) from cgroup.procs.
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

export type CgroupProblem = 'no-cgroup2' | 'not-found' | 'cgroup-v1' | 'not-cgroup' | 'unreadable';

/** The cgroup cannot be monitored: the message says what is missing and what to give instead. */
export class CgroupError extends Error {
  constructor(readonly spec: string, readonly problem: CgroupProblem, message: string) {
    super(message);
    this.name = 'CgroupError';
  }
}

export interface CgroupTarget {
  /** The cgroup's directory (absolute, symlinks resolved). */
  dir: string;
  /** Where its cgroup2 hierarchy is mounted. */
  mount: string;
  /** Its path inside the hierarchy, as /proc/PID/cgroup shows it ("/system.slice/nginx.service"). */
  path: string;
}

interface Mount {
  point: string;
  fstype: string;
  superOptions: string;
}

function mounts(procRoot: string): Mount[] {
  let text: string;
  try {
    text = readFileSync(`${procRoot}/self/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const point = unescapeMount(pre.split(' ')[4] ?? '');
    const [fstype = '', , superOptions = ''] = post.split(' ');
    out.push({ point, fstype, superOptions });
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

const within = (path: string, point: string) => path === point || path.startsWith(point.endsWith('/') ? point : point + '/');

/** The cgroup2 mount points of this machine (usually /sys/fs/cgroup; /sys/fs/cgroup/unified in hybrid setups). */
export function cgroup2Mounts(procRoot = '/proc'): string[] {
  return [...new Set(mounts(procRoot).filter((m) => m.fstype === 'cgroup2').map((m) => m.point))];
}

/**
 * Resolves what the user gave: a directory of a cgroup2 hierarchy, or a path inside the hierarchy
 * ("system.slice/nginx.service", "/system.slice/nginx.service"). Throws CgroupError naming what is missing.
 */
export function resolveCgroup(spec: string, procRoot = '/proc'): CgroupTarget {
  const all = mounts(procRoot);
  const v2 = cgroup2Mounts(procRoot);
  if (v2.length === 0) {
    throw new CgroupError(spec, 'no-cgroup2', 'cgroup v2 is not mounted here (no cgroup2 file system in /proc/self/mountinfo); --cgroup needs the unified hierarchy: mount it (mount -t cgroup2 none /sys/fs/cgroup) or boot with systemd.unified_cgroup_hierarchy=1');
  }
  const tries = isAbsolute(spec) ? [spec, ...v2.map((m) => join(m, spec))] : v2.map((m) => join(m, spec));
  const found = tries.find(isDir);
  if (!found) {
    throw new CgroupError(spec, 'not-found', `no such cgroup: ${spec} (looked for a directory ${tries.length === 1 ? tries[0] : `among ${tries.join(', ')}`}); see systemctl status UNIT or /proc/PID/cgroup for a service's cgroup`);
  }
  const dir = realpathSync(found);
  const mount = all.filter((m) => within(dir, m.point)).sort((a, b) => b.point.length - a.point.length)[0];
  if (mount?.fstype === 'cgroup') {
    const controllers = mount.superOptions.split(',').filter((o) => !['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev'].includes(o)).join(',');
    throw new CgroupError(spec, 'cgroup-v1', `${spec} is in a cgroup v1 hierarchy (${controllers || mount.point}); --cgroup needs cgroup v2, mounted here at ${v2.join(', ')}: give a cgroup under it`);
  }
  if (mount?.fstype !== 'cgroup2') {
    throw new CgroupError(spec, 'not-cgroup', `${spec} is not a cgroup (it is a directory on ${mount?.fstype ?? 'an unknown file system'}); give a directory under ${v2.join(' or ')}`);
  }
  try {
    readFileSync(join(dir, 'cgroup.procs'), 'latin1');
  } catch (err) {
    throw new CgroupError(spec, 'unreadable', `cannot read ${join(dir, 'cgroup.procs')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return { dir, mount: mount.point, path: '/' + relative(mount.point, dir) };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Descendant cgroups visited at most per listing (a guard against a runaway hierarchy). */
const MAX_CGROUPS = 100_000;

/**
 * The processes of the cgroup and of all its descendant cgroups, now; null when the cgroup itself is
 * gone (removed). Cgroups removed during the walk are skipped.
 */
export function cgroupPids(dir: string): Set<number> | null {
  const pids = new Set<number>();
  const queue = [dir];
  for (let i = 0; i < queue.length && i < MAX_CGROUPS; i++) {
    const d = queue[i]!;
    let text: string;
    try {
      text = readFileSync(join(d, 'cgroup.procs'), 'latin1');
    } catch {
      if (i === 0) return null;
      continue;
    }
    for (const line of text.split('\n')) {
      const pid = Number(line);
      if (pid > 0) pids.add(pid);
    }
    try {
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) queue.push(join(d, e.name));
    } catch {
      // removed meanwhile
    }
  }
  return pids;
}

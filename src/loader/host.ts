// Facts about this host that decide whether BPF tracing can work: kernel version, our capabilities and
// user, kernel.* sysctls, mount points, lockdown. Read in one place; the tracer's error mapping and
// `diag` both use these readers.
import { readFileSync } from 'node:fs';
import { release, userInfo } from 'node:os';

/** The whole file as text, or undefined when it cannot be read. */
export function readText(path: string): string | undefined {
  try { return readFileSync(path, 'utf8'); } catch { return undefined; }
}

/** [major, minor] of a kernel release string such as "6.18.44-fc"; [0, 0] when unparsable. */
export function parseKernelVersion(rel: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function kernelRelease(): string {
  return release();
}

/** The effective capability set (CapEff of /proc/self/status, or of the given status text). */
export function effectiveCaps(status = readText('/proc/self/status') ?? ''): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0';
  return BigInt('0x' + hex);
}

export function currentUser(): { uid: number; user: string } {
  let user = process.env.USER ?? 'USER';
  try { user = userInfo().username; } catch { /* a uid without a passwd entry */ }
  return { uid: process.getuid?.() ?? -1, user };
}

/** A kernel.* sysctl, trimmed; undefined when unreadable. */
export function kernelSysctl(name: string): string | undefined {
  return readText(`/proc/sys/kernel/${name}`)?.trim();
}

/** Mount points of a file system type, from /proc/mounts (or the given text). */
export function mountPoints(fstype: string, mounts = readText('/proc/mounts') ?? ''): string[] {
  return mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === fstype && f[1]).map((f) => f[1]!.replace(/\\040/g, ' '));
}

/** The selected kernel lockdown mode (none, integrity, confidentiality), or undefined when unreadable. */
export function lockdownMode(): string | undefined {
  return /\[(\w+)\]/.exec(readText('/sys/kernel/security/lockdown') ?? '')?.[1];
}

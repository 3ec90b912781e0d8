// Capabilities of this process, as far as the monitored command is concerned.
import { readFileSync } from 'node:fs';

const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** The ambient capability set (CapAmb of /proc/self/status) as a bit mask. */
export function ambientCapabilities(): bigint {
  const hex = /^CapAmb:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return BigInt('0x' + hex);
}

/**
 * Empties the ambient set, so that a command we start does not inherit CAP_BPF/CAP_PERFMON granted to
 * us (e.g. by setpriv --ambient-caps). Our own effective and permitted sets are unchanged.
 */
export async function clearAmbientCapabilities(): Promise<void> {
  if (ambientCapabilities() === 0n) return;
  // Loaded only when needed: plain monitoring never loads ffi-rs.
  const { libcInt, errnoName } = await import('./ffi.js');
  const r = libcInt('prctl', PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (r.ret < 0) throw new Error(`prctl(PR_CAP_AMBIENT_CLEAR_ALL) failed: ${errnoName(r.errno)}`);
}

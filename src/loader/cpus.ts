// CPU sets from sysfs ("0-3,5"): per-CPU map values have one slot per *possible* CPU,
// tracepoint perf events are opened on each *online* CPU.
import { readFileSync } from 'node:fs';

export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a) || (b !== undefined && Number.isNaN(b))) {
      throw new Error(`cannot parse CPU list "${text.trim()}"`);
    }
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

let possible: number | null = null;
/** Number of possible CPUs (highest possible index + 1), as the kernel sizes per-CPU values. */
export function possibleCpuCount(): number {
  if (possible === null) {
    const cpus = parseCpuList(readFileSync('/sys/devices/system/cpu/possible', 'utf8'));
    possible = Math.max(...cpus) + 1;
  }
  return possible;
}

export function onlineCpus(): number[] {
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
}

// Retiring exited processes' counters (long attach with process churn). Their entries in the `counts`
// hash are folded into per-syscall totals here and removed from the kernel: the table then holds the
// live processes only, instead of filling up with every process that ever ran (after which syscalls
// would go uncounted), and each read costs what the live processes need, not what the past left.
//
// A process is retired once it is absent from `tracked` in a read made after its counters were read:
// it has exited (entries leave `tracked` only at exit), so nothing adds to its keys any more. Each key
// is taken with lookup-and-delete, so a count added meanwhile (its pid reused at that very moment by a
// new tracked process) lands in the value taken or in a fresh entry: never lost, never counted twice.
// Rows (the array counters of the first processes) are not retired: they are bounded already.
import type { BpfMap } from '../loader/index.js';

export class Retired {
  /** Retired counts by syscall number (compat numbers with their bit), cumulative. */
  readonly byNr = new Map<number, number>();
  /** Entries retired so far (for tests and diagnostics). */
  entries = 0;

  /**
   * Takes the `counts` entries of processes not in `tracked` (read after `entries`). Returns the retired
   * entries' values as taken: the caller has already counted `count` for each and adds any difference.
   */
  retire(counts: BpfMap, entries: Iterable<[{ tgid: number; nr: number }, number]>, tracked: ReadonlySet<number>): Array<{ nr: number; extra: number }> {
    const extras: Array<{ nr: number; extra: number }> = [];
    const key = Buffer.alloc(8);
    for (const [{ tgid, nr }, count] of entries) {
      if (tracked.has(tgid)) continue;
      key.writeUInt32LE(tgid, 0);
      key.writeUInt32LE(nr, 4);
      const value = counts.lookupAndDelete(key);
      if (value === undefined) continue;
      const taken = Number(value.readBigUInt64LE(0));
      this.byNr.set(nr, (this.byNr.get(nr) ?? 0) + taken);
      this.entries++;
      if (taken !== count) extras.push({ nr, extra: taken - count });
    }
    return extras;
  }
}

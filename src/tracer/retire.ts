// Retiring exited processes' counters (long attach with process churn). Their entries in the `counts`
// hash are folded into per-syscall totals here and removed from the kernel: the table then holds the
// live processes only, instead of filling up with every process that ever ran (after which syscalls
// would go uncounted), and each read costs what the live processes need, not what the past left.
//
// A process is retired once it is absent from `tracked` in a read made after its counters were read:
// it has exited (entries leave `tracked` only at exit), so nothing adds to its keys any more. Each key
// is taken with lookup-and-delete, so a count added meanwhile (its pid reused at that very moment by a
// new tracked process) lands in the value taken or in a fresh entry: never lost, never counted twice.
//
// Rows (the array counters of the first processes; slots are not reused) cannot be taken atomically, so
// a row is retired once its owner was absent from `tracked` at the previous read: the process was gone
// before this read began, its row is final. It is then folded in and never read again, so reads do not
// keep paying (in time and garbage) for every row's past owner.
import type { BpfMap } from '../loader/index.js';

export class Retired {
  /** Retired counts by syscall number (compat numbers with their bit), cumulative. */
  readonly byNr = new Map<number, number>();
  /** Entries retired so far (for tests and diagnostics). */
  entries = 0;
  /** Row slots whose owner was not tracked at the previous read: final at this one. */
  private suspects = new Set<number>();
  private readonly doneSlots = new Set<number>();
  /** This read's counts of the suspect rows, by slot: folded in by endRows if still final. */
  private readonly pendingRows = new Map<number, Map<number, number>>();

  /** A row already folded in: not to be read. */
  skipsSlot(slot: number): boolean {
    return this.doneSlots.has(slot);
  }

  /** A counter read in a row (the caller counts it in this read's snapshot as well). */
  rowCount(slot: number, nr: number, count: number): void {
    if (!this.suspects.has(slot)) return;
    let row = this.pendingRows.get(slot);
    if (!row) this.pendingRows.set(slot, (row = new Map()));
    row.set(nr, count);
  }

  /**
   * After a read: a suspect row whose owner is still not tracked is final (its process was gone before
   * this read began) and joins the totals; rows whose owner is not tracked now become suspects. A
   * suspect that turns out to be tracked (an owner being recorded as it was read, or its pid reused)
   * stays a row like any other.
   */
  endRows(used: number, owner: (slot: number) => number, tracked: ReadonlySet<number>): void {
    for (const slot of this.suspects) {
      if (tracked.has(owner(slot))) continue;
      for (const [nr, n] of this.pendingRows.get(slot) ?? []) this.byNr.set(nr, (this.byNr.get(nr) ?? 0) + n);
      this.doneSlots.add(slot);
    }
    this.pendingRows.clear();
    this.suspects.clear();
    for (let slot = 0; slot < used; slot++) {
      if (!this.doneSlots.has(slot) && !tracked.has(owner(slot))) this.suspects.add(slot);
    }
  }

  /** Rows folded in so far (for tests). */
  get retiredRows(): number {
    return this.doneSlots.size;
  }

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

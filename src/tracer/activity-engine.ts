// The scheduler and socket programs' part of the engine: which groups load, attaching them whole or
// not at all, the reader of their maps, and seeding `attach`'s sleeping threads. SyscallTracer holds
// one of these and calls it at each step; each group that cannot run says why.
import { readdirSync, readFileSync } from 'node:fs';
import { BpfError, UpdateFlag, type BpfMap, type Link, type LoadedProgram } from '../loader/index.js';
import type { ProgramSpec } from '../asm/spec.js';
import type { MapSizes } from './maps.js';
import type { TracerLayout } from './layout.js';
import { ActivityReader, type ActivitySnapshot } from './activity.js';
import { activityPrograms, groupOf, type ActivityChoice, type ActivityGroup, type GroupAvailability } from './activity-setup.js';

export class ActivityPart {
  private readonly groups: Record<ActivityGroup, GroupAvailability> = {
    sched: { available: false, reason: 'not loaded' },
    net: { available: false, reason: 'not loaded' },
  };
  private specs: ProgramSpec[] = [];
  private loaded: LoadedProgram[] = [];
  private reader: ActivityReader | undefined;

  /** The specs of the groups wanted and possible here (their maps are to be created with the rest). */
  prepare(layout: TracerLayout, sizes: MapSizes, choice: ActivityChoice): ProgramSpec[] {
    const { specs, unavailable } = activityPrograms(layout, sizes, choice);
    for (const [group, reason] of Object.entries(unavailable)) this.groups[group as ActivityGroup] = { available: false, reason };
    this.specs = specs;
    return specs;
  }

  /** Loads each group whole, or leaves it out with the reason (the kernel or our verifier refused it). */
  load(loadOne: (spec: ProgramSpec) => LoadedProgram): LoadedProgram[] {
    for (const group of ['sched', 'net'] as const) {
      const mine = this.specs.filter((sp) => groupOf(sp.name) === group);
      if (mine.length === 0) continue;
      const loaded: LoadedProgram[] = [];
      try {
        for (const spec of mine) loaded.push(loadOne(spec));
        this.loaded.push(...loaded);
        this.groups[group] = { available: true };
      } catch (err) {
        for (const p of loaded) quietly(() => p.close());
        this.groups[group] = { available: false, reason: `the programs could not be loaded (${oneLine(err)})` };
      }
    }
    return this.loaded;
  }

  /**
   * Attaches each loaded group whole: one that does not attach entirely is detached (half of the
   * scheduler programs would miscount). Returns the links kept; then the maps can be read.
   */
  attach(attachOne: (prog: LoadedProgram) => Link, map: (name: string) => BpfMap): Link[] {
    const kept: Link[] = [];
    for (const group of ['sched', 'net'] as const) {
      const links: Link[] = [];
      try {
        for (const prog of this.loaded.filter((p) => groupOf(p.name) === group)) links.push(attachOne(prog));
        kept.push(...links);
      } catch (err) {
        for (const l of links) quietly(() => l.close());
        this.groups[group] = { available: false, reason: `the programs could not be attached (${oneLine(err)})` };
      }
    }
    const { sched, net } = this.groups;
    if (sched.available || net.available) {
      const threads = map('threads');
      this.reader = new ActivityReader(
        {
          threads: { rawEntries: () => threads.rawEntries(), remove: (k) => threads.remove(k), insertNew: (k, v) => insertNew(threads, k, v) },
          procs: map('procs'),
          xstats: map('xstats'),
        },
        { sched: sched.available, net: net.available },
      );
    }
    return kept;
  }

  /** Whether each group runs, or why not. */
  availability(): Record<ActivityGroup, GroupAvailability> {
    return { sched: { ...this.groups.sched }, net: { ...this.groups.net } };
  }

  /** One read (`tracked`: the tgids in the tracked set now); undefined when no group runs. */
  read(tracked: ReadonlySet<number>): ActivitySnapshot | undefined {
    return this.reader?.read(tracked);
  }

  /** `attach`: enters the threads of these processes that are asleep now as blocked (ActivityReader.seedBlocked). */
  seedSleeping(pids: number[]): void {
    if (this.reader) this.reader.seedBlocked(sleepingThreads(pids));
  }
}

/** One line about a load or attach failure (a verifier refusal: its first issue). */
export function oneLine(err: unknown): string {
  const lines = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.length > 1 && lines[0]!.endsWith(':') ? `${lines[0]} ${lines[1]}` : lines[0] ?? 'unknown error';
}

function quietly(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BpfError)) throw err;
  }
}

/** Inserts unless the key exists (or the table is full): false then. */
function insertNew(map: BpfMap, key: Buffer, value: Buffer): boolean {
  try {
    map.update(key, value, UpdateFlag.NOEXIST);
    return true;
  } catch (err) {
    if (err instanceof BpfError && (err.code === 'EEXIST' || err.code === 'E2BIG' || err.code === 'ENOMEM')) return false;
    throw err;
  }
}

/** The threads of these processes that are asleep now (S: interruptible, D: uninterruptible). */
function sleepingThreads(pids: number[]): { tgid: number; tid: number }[] {
  const out: { tgid: number; tid: number }[] = [];
  for (const tgid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${tgid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        const stat = readFileSync(`/proc/${tgid}/task/${tid}/stat`, 'latin1');
        const state = stat[stat.lastIndexOf(')') + 2];
        if (state === 'S' || state === 'D') out.push({ tgid, tid: Number(tid) });
      } catch { /* gone */ }
    }
  }
  return out;
}

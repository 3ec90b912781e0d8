// Which scheduler and socket programs a tracer gets, and why one is left out. The two groups are
// optional: the syscall counting works without them, so a group the kernel lacks (or refuses) is
// reported as unavailable, with the reason, instead of failing the tracer.
import type { ProgramSpec } from '../asm/spec.js';
import { tracerMaps, type MapSizes } from './maps.js';
import { activityMaps } from './activity-maps.js';
import { schedSwitchProgram, schedWakeupProgram, type SchedHooks } from './sched.js';
import { sockProgram } from './net.js';
import type { TracerLayout } from './layout.js';

export type ActivityGroup = 'sched' | 'net';

/** Which groups to load (both by default). */
export interface ActivityChoice {
  sched?: boolean;
  net?: boolean;
  /** Bound of the thread table of the scheduler programs (default 2 × maxProcesses). */
  maxThreads?: number;
  /** Code for the stacks work to put at the blocking and wake-up points (sched.ts). */
  schedHooks?: SchedHooks;
}

/** Whether a group runs, or why not. */
export interface GroupAvailability {
  available: boolean;
  reason?: string;
}

/** The program names of each group. */
export const ACTIVITY_GROUPS: Record<ActivityGroup, readonly string[]> = {
  sched: ['dp_sched_switch', 'dp_sched_wakeup', 'dp_sched_wakeup_new'],
  net: ['dp_sock_send', 'dp_sock_recv'],
};

export function groupOf(program: string): ActivityGroup | undefined {
  for (const [g, names] of Object.entries(ACTIVITY_GROUPS)) if (names.includes(program)) return g as ActivityGroup;
  return undefined;
}

export const maxThreadsOf = (sizes: MapSizes, choice: ActivityChoice): number => choice.maxThreads ?? 2 * sizes.maxProcesses;

/** The programs of the groups wanted and possible on this layout, and the reason for each group left out. */
export function activityPrograms(layout: TracerLayout, sizes: MapSizes, choice: ActivityChoice = {}): {
  specs: ProgramSpec[];
  unavailable: Partial<Record<ActivityGroup, string>>;
} {
  const unavailable: Partial<Record<ActivityGroup, string>> = {};
  const specs: ProgramSpec[] = [];
  const maps = [...tracerMaps(sizes), ...activityMaps({ maxProcesses: sizes.maxProcesses, maxThreads: maxThreadsOf(sizes, choice) })];
  const sched = layout.sched;
  if (choice.sched === false) unavailable.sched = 'turned off';
  else if (!sched?.layout) unavailable.sched = sched?.reason ?? 'not available in this attach mode';
  else {
    specs.push(
      schedSwitchProgram(sched.layout, maps, choice.schedHooks),
      schedWakeupProgram('dp_sched_wakeup', sched.layout, maps, choice.schedHooks),
      schedWakeupProgram('dp_sched_wakeup_new', sched.layout, maps, choice.schedHooks),
    );
  }
  const net = layout.net;
  if (choice.net === false) unavailable.net = 'turned off';
  else if (!net?.layout) unavailable.net = net?.reason ?? 'not available in this attach mode';
  else specs.push(sockProgram('send', net.layout, maps), sockProgram('recv', net.layout, maps));
  return { specs, unavailable };
}

// --max-increase: which figure may grow by how much. A bare value ("10%") is the default for every
// *counted* figure (syscalls in all, each syscall, each category, errors): those are exact and repeat
// from run to run. Times, memory and disk bytes vary with the machine, so they are checked only when
// named ("cpu=20%"). A value is a percentage ("5%" or "5") or an absolute increase ("+200", in the
// figure's unit: calls, seconds, kB, bytes, microseconds).
// `processes` (every process of the tree, short-lived ones included) is counted too.
import { CATEGORIES } from '../syscalls/index.js';

export class LimitSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LimitSyntaxError';
  }
}

/** The headline figures, in the order reports list them. */
export const METRICS = {
  wall: { label: 'wall time', unit: 's', counted: false },
  cpu: { label: 'CPU time', unit: 's', counted: false },
  rss: { label: 'peak RSS', unit: 'kB', counted: false },
  read: { label: 'disk read', unit: 'B', counted: false },
  write: { label: 'disk write', unit: 'B', counted: false },
  processes: { label: 'processes', unit: 'count', counted: true },
  syscalls: { label: 'syscalls', unit: 'calls', counted: true },
  errors: { label: 'syscall errors', unit: 'calls', counted: true },
  syscall_time: { label: 'time in syscalls', unit: 'us', counted: false },
} as const;
export type MetricKey = keyof typeof METRICS;

/**
 * Increases smaller than this never pass a percentage limit on a figure that is not a count: a
 * 10 ms longer run of a 20 ms command is +50% of noise. Counts use --min-count/--min-change instead.
 */
export const NOISE_FLOOR: Record<string, number> = { s: 0.1, kB: 1024, B: 65536, us: 1000 };

export interface Limit {
  /** 'default' (the bare value), a metric key, 'syscall:NAME', 'syscall:*', 'category:NAME' or 'category:*' */
  key: string;
  /** percent increase allowed */
  pct?: number;
  /** absolute increase allowed, in the figure's unit */
  abs?: number;
  /** as written, for messages */
  text: string;
}

const VALUE = /^(?:(\d+(?:\.\d+)?)%?|\+(\d+(?:\.\d+)?))$/;

function parseValue(key: string, raw: string): Omit<Limit, 'key'> {
  const m = VALUE.exec(raw.trim());
  if (!m) throw new LimitSyntaxError(`invalid --max-increase value '${raw}'${key === 'default' ? '' : ` for ${key}`}: expected a percentage (10%) or an absolute increase (+100)`);
  return m[1] !== undefined ? { pct: Number(m[1]), text: `${m[1]}%` } : { abs: Number(m[2]), text: `+${m[2]}` };
}

function checkKey(key: string): string {
  if (key in METRICS) return key;
  const colon = key.indexOf(':');
  const group = colon < 0 ? key : key.slice(0, colon);
  const name = key.slice(colon + 1);
  if (colon > 0 && (group === 'syscall' || group === 'category') && name !== '') {
    if (group === 'category' && name !== '*' && !(CATEGORIES as readonly string[]).includes(name)) {
      throw new LimitSyntaxError(`unknown category '${name}' in --max-increase (categories: ${CATEGORIES.join(', ')})`);
    }
    if (group === 'syscall' && name !== '*' && !/^[a-z0-9_]+(:[a-z0-9_]+)?$/.test(name)) {
      throw new LimitSyntaxError(`'${name}' in --max-increase is not a syscall name (e.g. syscall:openat, syscall:ia32:read)`);
    }
    return key;
  }
  throw new LimitSyntaxError(`unknown figure '${key}' in --max-increase (expected ${Object.keys(METRICS).join(', ')}, syscall:NAME, category:NAME, or syscall:* / category:*)`);
}

/** Parses every --max-increase value ("10%", "syscalls=5%,rss=10%", "syscall:openat=+20"). Later ones win. */
export function parseLimits(specs: readonly string[]): Limit[] {
  const byKey = new Map<string, Limit>();
  for (const spec of specs) {
    for (const part of spec.split(',')) {
      if (part.trim() === '') throw new LimitSyntaxError(`empty element in --max-increase '${spec}'`);
      const eq = part.lastIndexOf('=');
      const key = eq < 0 ? 'default' : checkKey(part.slice(0, eq).trim());
      byKey.set(key, { key, ...parseValue(key, eq < 0 ? part : part.slice(eq + 1)) });
    }
  }
  return [...byKey.values()];
}

/**
 * The limit that applies to a figure: its own, else its group's (syscall:* / category:*), else the
 * bare default when the figure is counted. `explicit` says whether it was named (so a figure that
 * cannot be compared is an error rather than a note).
 */
export function limitFor(limits: readonly Limit[], key: string, counted: boolean): { limit: Limit; explicit: boolean } | undefined {
  const own = limits.find((l) => l.key === key);
  if (own) return { limit: own, explicit: true };
  const colon = key.indexOf(':');
  if (colon > 0) {
    const group = limits.find((l) => l.key === `${key.slice(0, colon)}:*`);
    if (group) return { limit: group, explicit: false };
  }
  const def = counted ? limits.find((l) => l.key === 'default') : undefined;
  return def ? { limit: def, explicit: false } : undefined;
}

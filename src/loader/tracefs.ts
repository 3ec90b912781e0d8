// tracefs: where tracepoint ids and record formats live. Found at its usual mount points, or
// mounted by us (and then unmounted by us: we leave the machine as we found it).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { libcInt, scratchCString, errnoName, errnoMessage } from './ffi.js';
import { TracefsError } from './errors.js';
import { mountPoints } from './host.js';

const DEFAULT_MOUNT = '/sys/kernel/tracing';
const CANDIDATES = [DEFAULT_MOUNT, '/sys/kernel/debug/tracing'];

export interface Tracefs {
  path: string;
  /** true when findTracefs mounted it: call unmountTracefs(path) when done */
  mountedByUs: boolean;
}


function usable(path: string): boolean {
  return existsSync(join(path, 'events'));
}

/** Finds a usable tracefs (one with events/); mounts it at /sys/kernel/tracing when allowed. */
export function findTracefs(opts: { mountIfMissing: boolean }): Tracefs {
  const mounted = mountPoints('tracefs');
  for (const path of [...CANDIDATES.filter((c) => mounted.includes(c)), ...mounted]) {
    if (usable(path)) return { path, mountedByUs: false };
  }
  // Debugfs automounts tracefs under debug/tracing on access; probe it only when we may not mount
  // ourselves, since an automount is a mount we did not ask for and cannot take back.
  if (!opts.mountIfMissing || !existsSync(DEFAULT_MOUNT)) {
    if (usable(CANDIDATES[1]!)) return { path: CANDIDATES[1]!, mountedByUs: false };
  }
  if (!opts.mountIfMissing) {
    throw new TracefsError('not-mounted', `tracefs is not mounted (looked at ${CANDIDATES.join(', ')} and /proc/mounts); ` +
      `mount it with: mount -t tracefs nodev ${DEFAULT_MOUNT}  (or let us mount it: mountIfMissing: true)`);
  }
  mountTracefs(DEFAULT_MOUNT);
  if (!usable(DEFAULT_MOUNT)) {
    unmountTracefs(DEFAULT_MOUNT);
    throw new TracefsError('no-events', `mounted tracefs at ${DEFAULT_MOUNT} but it has no events/ directory: is CONFIG_FTRACE enabled in this kernel?`, DEFAULT_MOUNT);
  }
  return { path: DEFAULT_MOUNT, mountedByUs: true };
}

export function mountTracefs(path: string = DEFAULT_MOUNT): void {
  const src = scratchCString('mnt_src', 'nodev');
  const target = scratchCString('mnt_target', path);
  const fstype = scratchCString('mnt_type', 'tracefs');
  const r = libcInt('mount', src, target, fstype, 0, 0);
  if (r.ret < 0) {
    throw new TracefsError(r.errno === 1 || r.errno === 13 ? 'mount-denied' : 'not-mounted',
      `mount -t tracefs nodev ${path} failed: ${errnoName(r.errno)} (${errnoMessage(r.errno)})` +
      (r.errno === 1 ? '; mounting needs root (CAP_SYS_ADMIN)' : ''), path);
  }
}

export function unmountTracefs(path: string): void {
  const target = scratchCString('mnt_target', path);
  const r = libcInt('umount2', target, 0);
  if (r.ret < 0) {
    throw new TracefsError('umount-failed', `umount ${path} failed: ${errnoName(r.errno)} (${errnoMessage(r.errno)})` +
      (r.errno === 16 ? '; something still uses it (an open file under it?)' : ''), path);
  }
}

function eventDir(group: string, event: string, root?: string): string {
  if (!/^[\w.-]+$/.test(group) || !/^[\w.-]+$/.test(event)) throw new TracefsError('bad-input', `invalid tracepoint name "${group}/${event}"`);
  const base = root ?? findTracefs({ mountIfMissing: false }).path;
  const dir = join(base, 'events', group, event);
  if (!existsSync(dir)) throw new TracefsError('no-tracepoint', `tracepoint ${group}/${event} does not exist (no ${dir}); list them in ${join(base, 'available_events')}`, dir);
  return dir;
}

/** The id perf_event_open wants for a tracepoint. */
export function tracepointId(group: string, event: string, root?: string): number {
  return Number(readTracefsFile(join(eventDir(group, event, root), 'id')).trim());
}

/** Reads a tracefs file; a permission error becomes TracefsError('access-denied'). */
function readTracefsFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new TracefsError('access-denied', `cannot read ${path}: ${code}`, path);
    throw err;
  }
}

export interface TracepointField {
  name: string;
  /** the C declaration as written, e.g. "unsigned long args[6]" */
  type: string;
  offset: number;
  size: number;
  signed: boolean;
  /** one of the common_* header fields every record starts with */
  common: boolean;
}

export interface TracepointFormat {
  id: number;
  fields: TracepointField[];
  /** bytes up to the end of the last field: what a TRACEPOINT program may read */
  size: number;
}

/** Parses a tracefs `format` file. */
export function parseTracepointFormat(text: string): TracepointFormat {
  const id = Number(/^ID:\s*(\d+)/m.exec(text)?.[1] ?? NaN);
  const fields: TracepointField[] = [];
  const re = /^\s*field:([^;]*);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const decl = m[1]!.trim();
    // "unsigned long args[6]" -> args; "__data_loc char[] name" -> name
    const name = /([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*$/.exec(decl)?.[1] ?? decl;
    fields.push({ name, type: decl, offset: Number(m[2]), size: Number(m[3]), signed: m[4] === '1', common: name.startsWith('common_') });
  }
  if (fields.length === 0) throw new TracefsError('bad-input', 'tracepoint format has no fields: is this a tracefs format file?');
  const size = Math.max(...fields.map((f) => f.offset + f.size));
  return { id, fields, size };
}

export function tracepointFormat(group: string, event: string, root?: string): TracepointFormat {
  return parseTracepointFormat(readTracefsFile(join(eventDir(group, event, root), 'format')));
}

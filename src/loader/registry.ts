// Every fd the loader opens is recorded here so an embedder (or the CLI on a signal) can release
// everything with one call. The kernel frees it all at process death anyway; this is for the living.
import { closeRaw } from './ffi.js';

export type FdKind = 'map' | 'prog' | 'link' | 'perf' | 'btf' | 'epoll';

export interface OpenFd {
  fd: number;
  kind: FdKind;
  /** what it is, for diagnostics: map or program name, tracepoint */
  label: string;
}

const open = new Map<number, OpenFd>();

export function track(fd: number, kind: FdKind, label: string): number {
  open.set(fd, { fd, kind, label });
  return fd;
}

/** Forgets `fd` without closing it; returns whether it was tracked. */
export function untrack(fd: number): boolean {
  return open.delete(fd);
}

/** The fds we hold, oldest first. */
export function openFds(): OpenFd[] {
  return [...open.values()];
}

/**
 * Closes every tracked fd: links and perf events first so programs detach before they go,
 * then programs, then maps. Idempotent; returns how many were closed.
 */
export function closeAll(): number {
  const order: FdKind[] = ['epoll', 'link', 'perf', 'prog', 'map', 'btf'];
  let closed = 0;
  for (const kind of order) {
    for (const entry of [...open.values()]) {
      if (entry.kind !== kind) continue;
      open.delete(entry.fd);
      closeRaw(entry.fd);
      closed++;
    }
  }
  return closed;
}

// No signal handlers here: the CLI owns SIGINT/SIGTERM and calls closeAll itself.
process.on('exit', () => { closeAll(); });

// Descriptors kept open on a member's /proc files and re-read in place: one pread per file per sample
// instead of open+read+close, and a read that fails once the process is gone even if its pid is reused.
import { closeSync, openSync, readSync } from 'node:fs';
import { isDeniedError, isGoneError } from './procfs.js';

/** Shared read buffer: stat, io and schedstat fit easily; one buffer avoids an allocation per read. */
export const SCRATCH = Buffer.alloc(16384);

export const READ_GONE = -1;
export const READ_DENIED = -2;
export const READ_ERROR = -3;

function classify(err: unknown): number {
  if (isGoneError(err)) return READ_GONE;
  if (isDeniedError(err)) return READ_DENIED;
  return READ_ERROR;
}

/** Opens a /proc file; a negative READ_* status when it cannot. */
export function openProc(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (err) {
    return classify(err);
  }
}

/**
 * pread at offset 0 into SCRATCH; the byte count, or a negative READ_* status. /proc files are
 * seq_files regenerated on a read at offset 0, so a descriptor kept open re-reads fresh values; after
 * the process dies it fails with ESRCH even if the pid is reused.
 */
export function preadProc(fd: number): number {
  try {
    return readSync(fd, SCRATCH, 0, SCRATCH.length, 0);
  } catch (err) {
    return classify(err);
  }
}

/** Closes a descriptor from openProc; negative statuses (nothing was opened) are ignored. */
export function closeProc(fd: number): void {
  if (fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

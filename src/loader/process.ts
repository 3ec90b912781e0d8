// Process control that Node does not offer, through libc: becoming a child subreaper (orphans of the
// monitored tree are re-parented to us instead of init) and reaping such orphans without taking the
// children Node itself waits for.
import { libcInt, scratch, errnoName } from './ffi.js';

const PR_SET_CHILD_SUBREAPER = 36;
const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x0100_0000;
/** siginfo_t is 128 bytes; for SIGCHLD, si_pid is at offset 16 on x86_64 and arm64. */
const SIGINFO_SIZE = 128;
const SI_PID = 16;
const ECHILD = 10;

/** Makes this process the child subreaper of its descendants (prctl PR_SET_CHILD_SUBREAPER). */
export function setChildSubreaper(): void {
  const r = libcInt('prctl', PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (r.ret < 0) throw new Error(`prctl(PR_SET_CHILD_SUBREAPER) failed: ${errnoName(r.errno)}`);
}

/**
 * Reaps exited children of ours, except `keep` (children Node waits for itself: reaping them would
 * take their exit status from it). Returns how many were reaped. A child in `keep` that has exited
 * hides the others until Node reaps it (waitid reports one exited child at a time).
 */
export function reapChildren(keep: ReadonlySet<number>, max = 1000): number {
  const info = scratch('waitid', SIGINFO_SIZE);
  let reaped = 0;
  for (; reaped < max; reaped++) {
    info.buf.fill(0, 0, SIGINFO_SIZE);
    // WNOWAIT: look first; only a child not in `keep` is then taken.
    const peek = libcInt('waitid', P_ALL, 0, info.addr, WEXITED | WNOHANG | WNOWAIT);
    if (peek.ret < 0) {
      if (peek.errno === ECHILD) break;
      throw new Error(`waitid failed: ${errnoName(peek.errno)}`);
    }
    const pid = info.buf.readInt32LE(SI_PID);
    if (pid <= 0 || keep.has(pid)) break;
    const r = libcInt('waitpid', pid, 0, WNOHANG);
    if (r.ret < 0 && r.errno !== ECHILD) throw new Error(`waitpid(${pid}) failed: ${errnoName(r.errno)}`);
  }
  return reaped;
}

const F_SETFD = 2;

/**
 * Replaces this process's image (execve): same pid, same open descriptors without FD_CLOEXEC.
 * `keepFds` stay open across it. Returns only on failure, with the errno name; argv[0] is passed as given.
 */
export function execImage(file: string, argv: readonly string[], env: readonly string[], keepFds: readonly number[]): string {
  // Node marks every descriptor it inherited close-on-exec at start-up, stdio included.
  for (const fd of keepFds) libcInt('fcntl', fd, F_SETFD, 0);
  const strings = [file, ...argv, ...env].map((s) => Buffer.from(s + '\0', 'utf8'));
  // Two NULL-terminated pointer arrays, then the strings they point to, in one region.
  const pointerBytes = 8 * (argv.length + 1 + env.length + 1);
  const mem = scratch('execve', pointerBytes + strings.reduce((n, b) => n + b.length, 0));
  const addrs: bigint[] = [];
  let at = pointerBytes;
  for (const b of strings) {
    mem.buf.set(b, at);
    addrs.push(mem.addr + BigInt(at));
    at += b.length;
  }
  const [path, ...rest] = addrs;
  const argvAddrs = rest.slice(0, argv.length);
  const envAddrs = rest.slice(argv.length);
  let slot = 0;
  for (const a of [...argvAddrs, 0n, ...envAddrs, 0n]) mem.buf.writeBigUInt64LE(a, 8 * slot++);
  const envp = mem.addr + BigInt(8 * (argv.length + 1));
  const r = libcInt('execve', path!, mem.addr, envp);
  return errnoName(r.errno);
}

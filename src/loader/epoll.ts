// epoll for the event readers: wait (blocking, with a timeout) until one of a set of fds is readable.
import { libcInt, NativeMemory } from './ffi.js';
import { BpfError } from './errors.js';
import { track } from './registry.js';
import { closeFd } from './bpf.js';

const EPOLL_CLOEXEC = 0o2000000, EPOLL_CTL_ADD = 1, EPOLLIN = 1;
/** struct epoll_event is packed (12 bytes) on x86-64, 16 bytes elsewhere. */
const EVENT_BYTES = process.arch === 'x64' ? 12 : 16;
const MAX_EVENTS = 64;

export class Epoll {
  private closed = false;
  private readonly events = NativeMemory.alloc(EVENT_BYTES * MAX_EVENTS);
  private constructor(readonly fd: number) {}

  /** An epoll set watching `fds` for input. */
  static watch(fds: number[], label: string): Epoll {
    const r = libcInt('epoll_create1', EPOLL_CLOEXEC);
    if (r.ret < 0) throw new BpfError('epoll_create1', r.errno);
    const ep = new Epoll(track(r.ret, 'epoll', label));
    try {
      for (const fd of fds) {
        const ev = ep.events.buf;
        ev.writeUInt32LE(EPOLLIN, 0);
        ev.writeBigUInt64LE(BigInt(fd), 4);
        const c = libcInt('epoll_ctl', ep.fd, EPOLL_CTL_ADD, fd, ep.events.addr);
        if (c.ret < 0) throw new BpfError('epoll_ctl(EPOLL_CTL_ADD)', c.errno, `fd ${fd}`);
      }
    } catch (e) {
      ep.close();
      throw e;
    }
    return ep;
  }

  /** Blocks up to `timeoutMs` (-1: forever) until an fd is readable; returns how many are. EINTR counts as 0. */
  wait(timeoutMs: number): number {
    const r = libcInt('epoll_wait', this.fd, this.events.addr, MAX_EVENTS, Math.trunc(timeoutMs));
    if (r.ret < 0) {
      if (r.errno === 4) return 0;
      throw new BpfError('epoll_wait', r.errno);
    }
    return r.ret;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeFd(this.fd);
    this.events.free();
  }
}

/** The records `consume` returns as they arrive, polling every `intervalMs` (default 10) until `signal` aborts or `open()` is false. */
export async function* pollBatches<T>(consume: () => T[], open: () => boolean, opts: { intervalMs?: number; signal?: AbortSignal }): AsyncGenerator<T> {
  while (open() && !opts.signal?.aborted) {
    const batch = consume();
    if (batch.length) yield* batch;
    else await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

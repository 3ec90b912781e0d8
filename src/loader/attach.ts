// Attaching loaded programs: raw tracepoints (one link fd, BTF-era kernels) and classic tracefs
// tracepoints (a perf event given the program).
import * as bpf from './bpf.js';
import { onlineCpus } from './cpus.js';
import type { LoadedProgram } from './program.js';
import { tracepointId } from './tracefs.js';

export class Link {
  private closed = false;
  constructor(readonly kind: 'raw_tracepoint' | 'tracepoint', readonly target: string, readonly fds: readonly number[]) {}

  /** Detaches: the program stops running here. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds) {
      if (this.kind === 'tracepoint') {
        try { bpf.perfEventDisable(fd); } catch { /* closing detaches anyway */ }
      }
      bpf.closeFd(fd);
    }
  }
}

type Prog = LoadedProgram | number;
const progFd = (p: Prog): number => (typeof p === 'number' ? p : p.fd);

/** Attaches a RAW_TRACEPOINT program to e.g. "sys_enter". */
export function attachRawTracepoint(prog: Prog, name: string): Link {
  return new Link('raw_tracepoint', name, [bpf.rawTracepointOpen(name, progFd(prog))]);
}

/**
 * Attaches a TRACEPOINT program to group/event.
 * One perf event (pid -1, on the first online CPU) is enough: SET_BPF hangs the program on the
 * tracepoint itself, which fires on every CPU, and a second SET_BPF of the same program on another
 * CPU's event fails with EEXIST. `tracefs` is the tracefs root (see findTracefs); without it, a
 * mounted one is looked for.
 */
export function attachTracepoint(prog: Prog, group: string, event: string, opts: { tracefs?: string } = {}): Link {
  const id = tracepointId(group, event, opts.tracefs);
  const cpu = onlineCpus()[0] ?? 0;
  const fd = bpf.perfEventOpenTracepoint(id, cpu);
  try {
    bpf.perfEventSetBpf(fd, progFd(prog));
    bpf.perfEventEnable(fd);
  } catch (e) {
    bpf.closeFd(fd);
    throw e;
  }
  return new Link('tracepoint', `${group}/${event}`, [fd]);
}

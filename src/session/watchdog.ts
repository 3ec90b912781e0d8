// If this process dies — even by SIGKILL, where no handler of ours runs — the command of `run` must not
// go on unmonitored and unnoticed. A small shell in its own session holds a pipe from us; the kernel
// closes the pipe when we die, its `read` returns, and it stops the command. Normally we kill it first.
import { spawn, type ChildProcess } from 'node:child_process';

const SCRIPT = 'read -r _ || true; kill -KILL "$1" 2>/dev/null && echo "denet-pure: the monitor died; stopped its command (pid $1)" >&2';

export function startWatchdog(pid: number): ChildProcess | undefined {
  try {
    const w = spawn('/bin/sh', ['-c', SCRIPT, 'denet-pure-watchdog', String(pid)], {
      // Its own session: a Ctrl-C on the terminal, meant for the command, does not reach it.
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    w.on('error', () => { /* no /bin/sh: no watchdog */ });
    w.unref();
    (w.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    return w.pid === undefined ? undefined : w;
  } catch {
    return undefined;
  }
}

// A stop request that also cuts the current sleep short.

export type StopReason = 'exited' | 'duration' | 'signal' | 'error';

export class Stopper {
  reason: StopReason | undefined;
  private wake_: (() => void) | undefined;

  stop(reason: StopReason): void {
    this.reason ??= reason;
    this.wake_?.();
  }

  /** Cuts the current sleep short without stopping (something happened worth a sample now). */
  wake(): void {
    this.wake_?.();
  }

  /** Sleeps `ms` (in timer-sized steps), or less when stop() is called meanwhile. */
  sleep(ms: number): Promise<void> {
    if (this.reason) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
      function done() { clearTimeout(timer); resolve(); }
      this.wake_ = done;
    });
  }
}

/** setTimeout's largest delay (a 32-bit signed count of ms); larger ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

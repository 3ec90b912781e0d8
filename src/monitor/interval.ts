// denet's adaptive sampling schedule: fine-grained while a run is young (short runs still get many
// samples), coarse once it is long (long runs stay cheap and the output small).

/** base for the first second, then linear from base to max until 10 s, max after. */
export function adaptiveIntervalMs(elapsedMs: number, baseMs: number, maxMs: number): number {
  if (maxMs <= baseMs || elapsedMs <= 1000) return baseMs;
  if (elapsedMs >= 10_000) return maxMs;
  return Math.round(baseMs + ((maxMs - baseMs) * (elapsedMs - 1000)) / 9000);
}

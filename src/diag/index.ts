// `denet-pure diag`: can eBPF syscall counting work here, and if not, what exactly to do.
// The static checks (system.ts) explain; the live attempts (live.ts) decide.
import { gatherFacts, systemChecks, type SystemFacts } from './system.js';
import { liveChecks } from './live.js';
import type { Check, DiagReport } from './types.js';

export type { Check, DiagReport, Status } from './types.js';
export { gatherFacts, systemChecks, type SystemFacts } from './system.js';
export { decodeCaps, capEff } from './caps.js';

export async function runDiag(facts: SystemFacts = gatherFacts()): Promise<DiagReport> {
  const live = await liveChecks();
  const checks = [...systemChecks(facts), ...live.checks];
  return { checks, modes: live.modes, ok: live.modes.raw || live.modes.tracefs };
}

function verdict(r: DiagReport): string {
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  const modes = `raw tracepoints: ${yn(r.modes.raw)}, tracefs tracepoints: ${yn(r.modes.tracefs)}`;
  if (!r.ok) return `eBPF counting does NOT work here (${modes}); fix the FAIL lines above`;
  return `eBPF counting works (${modes}); --ebpf-attach auto uses ${r.modes.raw ? 'raw' : 'tracefs'}`;
}

/** Aligned text: one line per check, its fix under it, raw errors with `debug`. */
export function formatHuman(r: DiagReport, opts: { debug?: boolean } = {}): string {
  const width = Math.max(...r.checks.map((c) => c.name.length));
  const pad = ' '.repeat(6 + width + 2);
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.evidence}`);
    if (c.fix) lines.push(`${pad}fix: ${c.fix}`);
    if (opts.debug && c.debug) for (const l of c.debug.trimEnd().split('\n')) lines.push(`${pad}| ${l}`);
  }
  lines.push('', verdict(r));
  return lines.join('\n') + '\n';
}

/** The --json document: every check as {name, status, evidence, fix?} (+ debug with --debug). */
export function toJson(r: DiagReport, opts: { debug?: boolean; exitCode: number }): Record<string, unknown> {
  const checks = r.checks.map((c: Check) => {
    const o: Record<string, string> = { name: c.name, status: c.status, evidence: c.evidence };
    if (c.fix) o.fix = c.fix;
    if (opts.debug && c.debug) o.debug = c.debug;
    return o;
  });
  return { ok: r.ok, modes: r.modes, exit_code: opts.exitCode, verdict: verdict(r), checks };
}

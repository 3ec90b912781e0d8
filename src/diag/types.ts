// The shape of a diagnosis: a list of checks, each with what it saw and, when not PASS, the fix.

export type Status = 'PASS' | 'WARN' | 'FAIL';

export interface Check {
  name: string;
  status: Status;
  /** what was seen, in one line */
  evidence: string;
  /** the exact thing to do; present whenever status is not PASS */
  fix?: string;
  /** raw errors and verifier logs, shown with --debug only */
  debug?: string;
}

export interface DiagReport {
  checks: Check[];
  /** which attach modes really counted a child's syscalls */
  modes: { raw: boolean; tracefs: boolean };
  /** true when eBPF counting works here in at least one mode */
  ok: boolean;
}

export function pass(name: string, evidence: string): Check {
  return { name, status: 'PASS', evidence };
}
export function warn(name: string, evidence: string, fix: string): Check {
  return { name, status: 'WARN', evidence, fix };
}
export function fail(name: string, evidence: string, fix: string, debug?: string): Check {
  return debug ? { name, status: 'FAIL', evidence, fix, debug } : { name, status: 'FAIL', evidence, fix };
}

// Tests that talk to the kernel run for real when we hold the privilege, and otherwise are
// skipped *with the reason printed* — never passed silently.
import { readFileSync } from 'node:fs';
import type { Test } from 'uvu';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function effectiveCaps(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1] ?? '0';
  return BigInt('0x' + hex);
}

/** Why BPF tests cannot run here, or null when they can. */
export function bpfUnavailableReason(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  const caps = effectiveCaps();
  const has = (bit: bigint) => (caps >> bit) & 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return null;
  return 'needs root or CAP_BPF+CAP_PERFMON (run the tests as root: sudo npm test)';
}

const announced = new Set<string>();

/**
 * Registers `fn` as a test that needs BPF privilege; without it the test is registered as
 * skipped and the reason is printed once per suite.
 */
export function kernelTest(suite: Test, name: string, fn: () => unknown | Promise<unknown>, why = bpfUnavailableReason): void {
  const reason = why();
  if (reason === null) {
    suite(name, fn as () => void);
    return;
  }
  const key = `${reason}`;
  if (!announced.has(key)) {
    announced.add(key);
    console.log(`  [skip] tests skipped: ${reason}`);
  }
  console.log(`  [skip] ${name}`);
  suite.skip(name, fn as () => void);
}

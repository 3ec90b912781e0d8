// The live half of the diagnosis: do it for real, in the order the tracer does, and stop a mode at
// its first failure. The verdict comes from here: a mode works when a child's syscalls were counted.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { pass, fail, type Check } from './types.js';
import type { AttachMode } from '../tracer/types.js';
import { MapType, ProgType } from '../asm/abi.js';

/** r0 = 0; exit — the smallest program the verifier accepts. */
const TRIVIAL = Buffer.from('b700000000000000' + '9500000000000000', 'hex');
const TRUE_BIN = ['/bin/true', '/usr/bin/true'].find((p) => existsSync(p)) ?? '/bin/true';

const MODE_LABEL: Record<AttachMode, string> = { raw: 'raw tracepoints', tracefs: 'tracefs tracepoints' };

export interface LiveResult {
  checks: Check[];
  modes: Record<AttachMode, boolean>;
}

type Engine = typeof import('../tracer/index.js') & { loader: typeof import('../loader/index.js') };

async function loadEngine(): Promise<Engine | Error> {
  try {
    const tracer = await import('../tracer/index.js');
    const loader = await import('../loader/index.js');
    return { ...tracer, loader };
  } catch (err) {
    return err as Error;
  }
}

export async function liveChecks(): Promise<LiveResult> {
  const modes = { raw: false, tracefs: false };
  const engine = await loadEngine();
  if (engine instanceof Error) {
    return {
      modes,
      checks: [fail('eBPF engine', `could not be loaded: ${engine.message.split('\n')[0]}`, 'reinstall (npm ci) on Linux x86_64/aarch64: ffi-rs ships the native part', engine.stack)],
    };
  }
  const { loader, describeFailure } = engine;
  const failed = (name: string, err: unknown): Check => {
    const e = describeFailure(err);
    return fail(name, e.reason, e.fix, e.detail);
  };
  const checks: Check[] = [];
  try {
    try {
      loader.closeFd(loader.mapCreate({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'dp_diag' }));
      checks.push(pass('bpf(): create a map', 'BPF_MAP_CREATE of a 1-entry array succeeded'));
    } catch (err) {
      checks.push(failed('bpf(): create a map', err));
      return { checks, modes };
    }
    try {
      loader.closeFd(loader.progLoad({ type: ProgType.RAW_TRACEPOINT, insns: TRIVIAL, license: 'GPL', name: 'dp_diag' }));
      checks.push(pass('bpf(): load a trivial program', 'BPF_PROG_LOAD of a 2-instruction RAW_TRACEPOINT program succeeded'));
    } catch (err) {
      checks.push(failed('bpf(): load a trivial program', err));
      return { checks, modes };
    }
    for (const mode of ['raw', 'tracefs'] as const) modes[mode] = tryMode(engine, mode, checks, failed);
    return { checks, modes };
  } finally {
    loader.closeAll();
  }
}

/** Loads the tracer's programs alone, then opens the real tracer, counts a child; true when counted. */
function tryMode(engine: Engine, mode: AttachMode, checks: Check[], failed: (name: string, err: unknown) => Check): boolean {
  const { loader } = engine;
  const label = MODE_LABEL[mode];
  // 1. load, then 2. attach: the tracer's own two steps, so a verifier refusal is told apart from an attach refusal
  let tracer;
  try {
    tracer = engine.SyscallTracer.load(mode);
    const n = tracer.loadedSizes();
    checks.push(pass(`${label}: load`, `${n.programs} programs (${n.instructions} instructions) and ${n.maps} maps accepted by the kernel verifier`));
  } catch (err) {
    checks.push(failed(`${label}: load`, err));
    return false;
  }
  try {
    tracer.attach();
    const points = tracer.programIds().map(({ name }) => engine.ATTACH_POINTS[name]).map((a) => (mode === 'raw' ? a?.raw : a?.tracefs?.join('/')));
    checks.push(pass(`${label}: attach`, `attached to ${points.filter(Boolean).join(', ')}`));
  } catch (err) {
    tracer.close();
    checks.push(failed(`${label}: attach`, err));
    return false;
  }
  // 3. count: a child's own syscalls, read back from the kernel maps
  try {
    const child = tracer.spawnTracked(() => spawnSync(TRUE_BIN, [], { stdio: 'ignore' }));
    const snap = tracer.read();
    const mine = snap.byProcess.get(child.pid ?? -1);
    let n = 0;
    for (const c of mine?.values() ?? []) n += c;
    const execs = mine?.get('execve') ?? 0;
    if (n > 0) {
      checks.push(pass(`${label}: count`, `child ${TRUE_BIN} (pid ${child.pid}): ${n} syscalls counted in the kernel, ${execs} execve`));
      return true;
    }
    checks.push(fail(`${label}: count`, `attached, but no syscall of child ${TRUE_BIN} (pid ${child.pid}) was counted (total ${snap.total}, not counted ${snap.losses.syscallsUncounted})`,
      'please report it with the output of `denet-pure diag --debug --json`'));
    return false;
  } catch (err) {
    checks.push(failed(`${label}: count`, err));
    return false;
  } finally {
    tracer.close();
  }
}

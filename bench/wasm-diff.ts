// Differential harness: runs the same program in the kernel (BPF_PROG_TEST_RUN) and in the WASM
// engine and compares r0 and every map's contents. Shared by test/wasm-diff.test.ts and
// bench/wasm-fuzz.ts. Needs BPF privilege.
import type { MapSpec, ProgramSpec } from '../src/asm/spec.js';
import { disassemble } from '../src/asm/disasm.js';
import { BpfMap, LoadedProgram, possibleCpuCount } from '../src/loader/index.js';
import { BpfVm } from '../src/vm/index.js';
import { caseSpec, shrink, type FuzzCase } from '../test/_lib/fuzz.js';

const BPF_F_TEST_RUN_ON_CPU = 1;

export interface Outcome {
  r0: bigint;
  /** per map: sorted "key=value" hex lines */
  maps: Record<string, string[]>;
}

export type DiffResult =
  | { kind: 'same'; outcome: Outcome }
  | { kind: 'rejected'; reason: string }
  | { kind: 'mismatch'; kernel: Outcome | string; wasm: Outcome | string; detail: string };

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function u64s(values: bigint[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, v), i * 8));
  return b;
}

/** Kernel maps created once and emptied before each run, so thousands of runs stay cheap. */
export class KernelMaps {
  readonly maps = new Map<string, BpfMap>();
  constructor(readonly specs: MapSpec[]) {
    for (const s of specs) this.maps.set(s.name, BpfMap.create(s));
  }
  reset(): void {
    for (const m of this.maps.values()) {
      if (m.spec.type === 2 || m.spec.type === 6) {
        const zero = Buffer.alloc(m.valueBytes);
        for (let i = 0; i < m.spec.maxEntries; i++) m.update(u32(i), zero);
      } else {
        for (const k of [...m.rawKeys()]) m.remove(k);
      }
    }
  }
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, m] of this.maps) out[name] = m.rawEntries().map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
    return out;
  }
  close(): void {
    for (const m of this.maps.values()) m.close();
  }
}

const u32 = (i: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(i);
  return b;
};

export function runKernel(spec: ProgramSpec, maps: KernelMaps, ctx: bigint[], cpu = 0): Outcome | { rejected: string } {
  let prog: LoadedProgram;
  try {
    prog = LoadedProgram.load(spec, maps.maps, { verify: false });
  } catch (e) {
    return { rejected: e instanceof Error ? e.message : String(e) };
  }
  try {
    maps.reset();
    const r = prog.testRun({ ctxIn: u64s(ctx), flags: BPF_F_TEST_RUN_ON_CPU, cpu });
    return { r0: BigInt(r.retval >>> 0), maps: maps.snapshot() };
  } finally {
    prog.close();
  }
}

export function runWasm(spec: ProgramSpec, ctx: bigint[], nCpus = possibleCpuCount(), cpu = 0): Outcome {
  const vm = new BpfVm(spec, { nCpus, cpu });
  const { r0 } = vm.run({ ctx });
  const maps: Record<string, string[]> = {};
  for (const [name, m] of vm.maps) {
    // Per-CPU values read from user space are every CPU's value, each padded to 8 bytes.
    const value = (k: Uint8Array): string => !m.perCpu ? hex(m.lookup(k)!)
      : m.lookupPerCpu(k)!.map((v) => hex(v).padEnd(Math.ceil(v.length / 8) * 16, '0')).join('');
    maps[name] = m.keys().map((k) => `${hex(k)}=${value(k)}`).sort();
  }
  // raw_tracepoint test runs report only the low 32 bits of r0.
  return { r0: r0 & 0xffffffffn, maps };
}

/**
 * Where two outcomes first differ ("r0", or map:line:word), or null; "pointer" when the differing
 * word is a leaked pointer (a kernel address against one of the engine's fake ones), which no
 * engine can reproduce, so the shrinker must not drift into such programs.
 */
export function mismatchKey(k: Outcome, w: Outcome): string | null {
  if (k.r0 !== w.r0) return 'r0';
  for (const [name, a] of Object.entries(k.maps)) {
    const b = w.maps[name] ?? [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const ea = a[i], eb = b[i];
      if (ea === eb) continue;
      if (ea === undefined || eb === undefined) return `${name}:${i}:entry`;
      const [ka, va = ''] = ea.split('='), [kb, vb = ''] = eb.split('=');
      if (ka !== kb) return `${name}:${i}:key`;
      for (let at = 0; at < Math.max(va.length, vb.length); at += 16) {
        const x = va.slice(at, at + 16), y = vb.slice(at, at + 16);
        if (x === y) continue;
        const kv = x.length === 16 ? Buffer.from(x, 'hex').readBigUInt64LE() : 0n;
        if (kv >= 0xffff800000000000n) return 'pointer';
        return `${name}:${i}:${at / 16}`;
      }
    }
  }
  return null;
}

function compare(k: Outcome, w: Outcome): string | null {
  if (k.r0 !== w.r0) return `r0: kernel 0x${k.r0.toString(16)}, wasm 0x${w.r0.toString(16)}`;
  for (const [name, lines] of Object.entries(k.maps)) {
    const a = lines.join('\n'), b = (w.maps[name] ?? []).join('\n');
    if (a !== b) return `map ${name}:\n  kernel ${lines.join('\n         ')}\n  wasm   ${(w.maps[name] ?? []).join('\n         ')}`;
  }
  return null;
}

/** Runs one program both ways, on CPU `cpu`. */
export function diff(spec: ProgramSpec, maps: KernelMaps, ctx: bigint[], cpu = 0): DiffResult {
  const k = runKernel(spec, maps, ctx, cpu);
  if ('rejected' in k) return { kind: 'rejected', reason: k.rejected };
  let w: Outcome;
  try {
    w = runWasm(spec, ctx, possibleCpuCount(), cpu);
  } catch (e) {
    return { kind: 'mismatch', kernel: k, wasm: String(e), detail: `wasm failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const detail = compare(k, w);
  return detail === null ? { kind: 'same', outcome: k } : { kind: 'mismatch', kernel: k, wasm: w, detail };
}

/** Runs a fuzz case; on a mismatch shrinks it and returns a printable report. */
export function diffCase(c: FuzzCase, maps: KernelMaps): { result: DiffResult; report?: string } {
  let spec: ProgramSpec;
  try {
    spec = caseSpec(c);
  } catch (e) {
    return { result: { kind: 'rejected', reason: `assemble: ${(e as Error).message}` } };
  }
  const result = diff(spec, maps, c.ctx);
  if (result.kind !== 'mismatch') return { result };
  // Keep only candidates that still differ at the same place, and never by a leaked pointer.
  const key = (r: DiffResult): string | null =>
    r.kind !== 'mismatch' ? null : typeof r.kernel === 'string' || typeof r.wasm === 'string' ? 'fault' : mismatchKey(r.kernel, r.wasm);
  const want = key(result);
  const small = shrink(c, (cand) => {
    try {
      return key(diff(caseSpec(cand), maps, cand.ctx)) === want;
    } catch {
      return false;
    }
  });
  const smallSpec = caseSpec(small);
  const again = diff(smallSpec, maps, small.ctx);
  const lines = disassemble(smallSpec.insns, { indices: true, mapRefs: smallSpec.mapRefs });
  const report = [
    `seed ${c.seed}: kernel and wasm differ; shrunk from ${c.body.length} to ${small.body.length} body items`,
    `ctx: ${c.ctx.map((v) => '0x' + v.toString(16)).join(' ')}`,
    again.kind === 'mismatch' ? again.detail : result.detail,
    ...lines,
  ].join('\n');
  return { result, report };
}

// Static verifier: checks a ProgramSpec before it reaches BPF_PROG_LOAD and explains, per
// instruction, why a program would be (or, being stricter, might be) refused. It is designed never to
// accept a program the kernel refuses for the rules it models; see docs/verifier.md for the rules.
import type { ProgramSpec } from '../../asm/spec.js';
import type { RawInsn } from '../../asm/encoding.js';
import { mapLoads } from '../../asm/walk.js';
import { progTypeName } from '../../asm/abi.js';
import { MapType, STACK_SIZE } from '../../asm/opcodes.js';
import { buildCfg, type Cfg } from './cfg.js';
import { ctxRule } from './ctx.js';
import { formatInsn } from '../../asm/disasm.js';
import { checkFields } from './fields.js';
import { interpret, type InterpEnv, type RawIssue } from './interp.js';
import { Reject } from './memory.js';
import { ALLOWED, gplCompatible } from './protos.js';

export interface VerifyIssue {
  /** instruction index (first slot), or -1 for a problem with the program as a whole */
  index: number;
  /** the instruction in kernel syntax ('' for whole-program problems) */
  disasm: string;
  /** plain words: "insn N (disasm): reason" */
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  errors: VerifyIssue[];
  /** number of 8-byte slots */
  insnCount: number;
  format(): string;
}

export interface VerifyOptions {
  /** check as this program type instead of spec.type */
  progType?: number;
}

export class VerifierError extends Error {
  constructor(readonly report: VerifyReport, name: string) {
    super(`static verifier refused program '${name}':\n${report.format()}`);
    this.name = 'VerifierError';
  }
}

/** The kernel's limit on processed program size for privileged loaders. */
const MAX_INSNS = 1_000_000;

type MapAt = InterpEnv['mapAt'];

/** Map loads by the shared rule (src/asm/walk.ts), plus the kernel's direct-value-access rule. */
function resolveMapRefs(spec: ProgramSpec, issues: RawIssue[]): { insns: RawInsn[]; mapAt: MapAt } {
  const refs = mapLoads(spec);
  // second-slot encodings are the encoding check's (fields.ts), reported once there
  issues.push(...refs.issues.filter((i) => i.kind !== 'second_slot').map(({ index, message }) => ({ index, message })));
  const at: MapAt = new Map();
  for (const load of refs.loads) {
    if (load.map === undefined) continue;
    const m = spec.maps[load.map]!;
    // array_map_direct_value_addr(): one-entry arrays only, offset inside the value
    if (load.kind === 'value' && (m.type !== MapType.ARRAY || m.maxEntries !== 1 || load.offset >= m.valueSize)) {
      issues.push({ index: load.index, message: `direct value access needs a single-entry array map and an offset inside its value; map '${m.name}' / offset ${load.offset} does not qualify` });
    } else at.set(load.index, { map: load.map, kind: load.kind, offset: load.offset });
  }
  return { insns: refs.insns, mapAt: at };
}

/** Sum of frame sizes along the deepest call chain, rounded as the kernel's interpreter does. */
function checkCombinedStack(cfg: Cfg, depth: number[], issues: RawIssue[]): void {
  const frameSize = (k: number) => Math.ceil(Math.max(depth[k] ?? 0, 1) / 32) * 32;
  const memo = new Map<number, { total: number; chain: number[] }>();
  const deepest = (k: number): { total: number; chain: number[] } => {
    const hit = memo.get(k);
    if (hit) return hit;
    let best = { total: 0, chain: [] as number[] };
    for (const c of cfg.calls.get(k) ?? []) {
      const d = deepest(c);
      if (d.total > best.total) best = d;
    }
    const r = { total: frameSize(k) + best.total, chain: [k, ...best.chain] };
    memo.set(k, r);
    return r;
  };
  const main = deepest(0);
  if (main.total > STACK_SIZE) {
    const names = main.chain.map((k) => (k === 0 ? 'main' : `subprogram@${cfg.subprogStarts[k]}`));
    issues.push({ index: -1, message: `combined stack of the call chain ${names.join(' -> ')} is ${main.total} bytes (each frame rounded up to 32); the limit is ${STACK_SIZE} (kernels without private subprogram stacks enforce it)` });
  }
}

export function verifyProgram(spec: ProgramSpec, opts: VerifyOptions = {}): VerifyReport {
  const progType = opts.progType ?? spec.type;
  const issues: RawIssue[] = [];
  const ctx = ctxRule(progType, spec.ctxSize);
  const allowed = ALLOWED[progType];
  if (!ctx || !allowed) issues.push({ index: -1, message: `program type ${progTypeName(progType)} is not supported by this verifier (supported: raw_tracepoint, tracepoint, kprobe, socket_filter, xdp)` });
  const { insns, mapAt } = resolveMapRefs(spec, issues);
  if (insns.length === 0) issues.push({ index: -1, message: 'the program is empty' });
  if (insns.length > MAX_INSNS) issues.push({ index: -1, message: `the program has ${insns.length} instructions; the kernel allows ${MAX_INSNS}` });

  if (!issues.length) {
    const cfg = buildCfg(insns);
    // encodings of every instruction, even ones our walk skips as dead
    for (let i = 0; i < insns.length && !cfg.issues.length; i++) {
      if (cfg.secondSlot[i]) continue;
      try {
        checkFields(insns[i]!, insns[i + 1], mapAt.has(i));
      } catch (e) {
        if (!(e instanceof Reject)) throw e;
        issues.push({ index: i, message: e.message });
      }
    }
    issues.push(...cfg.issues);
    if (!issues.length) {
      const depth: number[] = [];
      const env: InterpEnv = {
        insns, cfg, mapAt, depth, maps: spec.maps, ctx: ctx!, allowed: allowed!,
        progTypeName: ctx!.name, gplOk: gplCompatible(spec.license), license: spec.license,
      };
      issues.push(...interpret(env));
      if (!issues.length) checkCombinedStack(cfg, depth, issues);
    }
  }
  return makeReport(spec, issues);
}

function makeReport(spec: ProgramSpec, raw: RawIssue[]): VerifyReport {
  const errors: VerifyIssue[] = raw.map(({ index, message }) => {
    if (index < 0 || index >= spec.insns.length) return { index: -1, disasm: '', message: `program '${spec.name}': ${message}` };
    const insn = spec.insns[index]!;
    const disasm = formatInsn(insn, index, insn.code === 0x18 ? spec.insns[index + 1] : undefined, { mapRefs: spec.mapRefs });
    return { index, disasm, message: `insn ${index} (${disasm}): ${message}` };
  });
  return {
    ok: errors.length === 0,
    errors,
    insnCount: spec.insns.length,
    format: () => (errors.length ? errors.map((e) => `  ${e.message}`).join('\n') : `  ok (${spec.insns.length} insns)`),
  };
}

/** Throws VerifierError (carrying the report) unless the program passes; returns the report. */
export function assertVerified(spec: ProgramSpec, opts: VerifyOptions = {}): VerifyReport {
  const report = verifyProgram(spec, opts);
  if (!report.ok) throw new VerifierError(report, spec.name);
  return report;
}

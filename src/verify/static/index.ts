// Static verifier: checks a ProgramSpec before it reaches BPF_PROG_LOAD and explains, per
// instruction, why a program would be (or, being stricter, might be) refused. It is designed never to
// accept a program the kernel refuses for the rules it models; see docs/verifier.md for the rules.
import type { ProgramSpec } from '../../asm/spec.js';
import type { RawInsn } from '../../asm/encoding.js';
import { MAX_SUBPROGS, mapLoads } from '../../asm/walk.js';
import { progTypeName } from '../../asm/abi.js';
import { MapType, STACK_SIZE } from '../../asm/opcodes.js';
import { buildCfg, type Cfg } from './cfg.js';
import { ctxRule } from './ctx.js';
import { formatInsn } from '../../asm/disasm.js';
import { checkFields } from './fields.js';
import { KERNEL_INSN_LIMIT, KERNEL_JMP_SEQ_LIMIT, interpret, type InterpEnv, type InterpResult, type RawIssue } from './interp.js';
import { Reject } from './memory.js';
import { emulateKernelWalk } from './kernel-walk.js';
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
  /** accepted programs: the bound on what the kernel processes, proven or emulated */
  complexity?: Complexity;
  format(): string;
}

export interface Complexity {
  /** instructions the kernel processes at most (proven) or about (emulated) */
  bound: number;
  proven: boolean;
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

/** Program types this verifier models (the others are refused as a whole). */
export const SUPPORTED_PROG_TYPES: ReadonlySet<number> = new Set(Object.keys(ALLOWED).map(Number));

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

/** The share of the kernel's 1 000 000-instruction limit an emulated (not proven) count may reach. */
export const EMULATED_BUDGET = KERNEL_INSN_LIMIT / 2;

/**
 * The kernel walks paths too, and gives up past 1 000 000 processed instructions or 8192 pending
 * branches. What it processes is at most the whole unpruned tree of paths (its pruning only cuts
 * paths, and it decides no fewer branches than we do): under the limit, that is a proof. Over it,
 * an emulation of the kernel's pruning must stay under half the limit (docs/verifier.md, Complexity).
 */
function checkComplexity(env: InterpEnv, w: InterpResult, issues: RawIssue[]): Complexity {
  if (w.pending > KERNEL_JMP_SEQ_LIMIT) {
    issues.push({ index: -1, message: `too complex: a path has ${w.pending} undecided branches pending at once; the kernel's limit is ${KERNEL_JMP_SEQ_LIMIT} ("the sequence of jumps is too complex")` });
  }
  if (w.processed <= KERNEL_INSN_LIMIT) return { bound: w.processed, proven: true };
  const emulated = emulateKernelWalk(env, EMULATED_BUDGET);
  if (emulated > EMULATED_BUDGET) {
    const unpruned = w.processed > 1e15 ? 'more than 10^15' : String(w.processed);
    issues.push({ index: -1, message: `too complex for this verifier to prove: without pruning the kernel would process ${unpruned} instructions (its limit is ${KERNEL_INSN_LIMIT}), and an emulation of its pruning passes ${EMULATED_BUDGET} (half the limit), so it may refuse the program` });
  }
  return { bound: emulated, proven: false };
}

/** The kernel's MAX_USED_MAPS. */
const MAX_USED_MAPS = 64;

function checkLimits(spec: ProgramSpec, cfg: Cfg, mapAt: MapAt, issues: RawIssue[]): void {
  if (cfg.subprogStarts.length > MAX_SUBPROGS) {
    issues.push({ index: -1, message: `${cfg.subprogStarts.length} subprograms (the main program included); the kernel allows at most ${MAX_SUBPROGS}` });
  }
  const used = new Set([...mapAt.values()].map((m) => m.map));
  if (used.size > MAX_USED_MAPS) {
    issues.push({ index: -1, message: `the program uses ${used.size} maps; the kernel allows at most ${MAX_USED_MAPS} per program` });
  }
}

export function verifyProgram(spec: ProgramSpec, opts: VerifyOptions = {}): VerifyReport {
  const progType = opts.progType ?? spec.type;
  const issues: RawIssue[] = [];
  const ctx = ctxRule(progType, spec.ctxSize);
  const allowed = ALLOWED[progType];
  if (!ctx || !allowed) issues.push({ index: -1, message: `program type ${progTypeName(progType)} is not supported by this verifier (supported: raw_tracepoint, tracepoint, kprobe, perf_event, socket_filter, sched_cls, sched_act, cgroup_skb, xdp)` });
  const { insns, mapAt } = resolveMapRefs(spec, issues);
  let complexity: Complexity | undefined;
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
    if (!issues.length) checkLimits(spec, cfg, mapAt, issues);
    if (!issues.length) {
      const depth: number[] = [];
      const env: InterpEnv = {
        insns, cfg, mapAt, depth, maps: spec.maps, ctx: ctx!, allowed: allowed!,
        progTypeName: ctx!.name, gplOk: gplCompatible(spec.license), license: spec.license, subprogs: cfg.subprogStarts.length,
      };
      const walked = interpret(env);
      issues.push(...walked.issues);
      if (!issues.length) checkCombinedStack(cfg, depth, issues);
      if (!issues.length) complexity = checkComplexity(env, walked, issues);
    }
  }
  return makeReport(spec, issues, complexity);
}

function makeReport(spec: ProgramSpec, raw: RawIssue[], complexity?: Complexity): VerifyReport {
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
    ...(complexity ? { complexity } : {}),
    format: () => (errors.length ? errors.map((e) => `  ${e.message}`).join('\n') : `  ok (${spec.insns.length} insns)`),
  };
}

/** Throws VerifierError (carrying the report) unless the program passes; returns the report. */
export function assertVerified(spec: ProgramSpec, opts: VerifyOptions = {}): VerifyReport {
  const report = verifyProgram(spec, opts);
  if (!report.ok) throw new VerifierError(report, spec.name);
  return report;
}

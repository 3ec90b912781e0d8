// The corpus of clang-built objects as programs, and the kernel's verdict on each, measured live:
// every program is loaded (never attached) with the maps it uses, then everything is closed.
// The verifier's differential tests compare their verdicts against these.
import type { ProgramSpec } from '../../src/asm/spec.js';
import { ObjectError, readObject, type ObjectProblem } from '../../src/object/index.js';
import { BpfError, BtfError, VerifierRejectedError, createObjectMaps, loadObjectProgram, ObjectLoadError } from '../../src/loader/index.js';
import type { BpfMap } from '../../src/loader/index.js';
import { corpusObjects } from './objects.js';

export interface CorpusProgram {
  /** object file name, e.g. "bcc.execsnoop.o" */
  object: string;
  section: string;
  /** function name */
  name: string;
  /** the program, with CO-RE relocations applied for the running kernel */
  spec?: ProgramSpec;
  /** why the object loader could not build it (then there is no spec) */
  failure?: { problem: ObjectProblem; message: string };
}

/** Every program of every corpus object, built for the running kernel (CO-RE applied). */
export function corpusPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  for (const e of corpusObjects()) {
    const o = readObject(e.path, { core: 'apply' });
    // Big-endian builds duplicate their little-endian twin and cannot load here.
    if (!o.littleEndian) continue;
    for (const p of o.programs) out.push({ object: e.object, section: p.spec.section ?? '', name: p.spec.name, spec: p.spec });
    for (const f of o.failures) out.push({ object: e.object, section: f.section, name: f.name, failure: { problem: f.error.problem, message: f.error.message } });
  }
  return out;
}

export interface KernelVerdict {
  accepted: boolean;
  /**
   * 'verifier': the kernel's verifier decided (accepted, or refused with a log); 'kernel': bpf()
   * refused before verifying (errno, e.g. EPERM for a program type this kernel lacks);
   * 'ours': we could not ask the kernel (a map the object leaves to user space, an attach target
   * this kernel lacks, a program kind we do not load) — no verdict.
   */
  stage: 'verifier' | 'kernel' | 'ours';
  /** the reason in one line: the verifier's error line, the errno, or ours */
  reason?: string;
  /** verifier refusals: the instruction it stopped at */
  failedInsn?: number | null;
}

/** Loads `spec` into the kernel (never attached) with fresh maps, and closes everything again. */
export function kernelVerdict(spec: ProgramSpec): KernelVerdict {
  let maps: Map<string, BpfMap>;
  try {
    maps = createObjectMaps(spec.maps);
  } catch (e) {
    return { accepted: false, stage: 'ours', reason: `maps: ${(e as Error).message.split('\n')[0]}` };
  }
  try {
    loadObjectProgram(spec, maps, { verify: false }).close();
    return { accepted: true, stage: 'verifier' };
  } catch (e) {
    if (e instanceof VerifierRejectedError) {
      const last = e.excerpt.split('\n').filter((l) => l.trim()).pop() ?? '';
      // The kernel wants BTF func_info for callbacks; this loader does not send BTF yet.
      if (/missing btf func_info/.test(last)) return { accepted: false, stage: 'ours', reason: 'needs BTF func_info (callbacks): not sent by this loader' };
      return { accepted: false, stage: 'verifier', reason: last, failedInsn: e.failedInsn };
    }
    if (e instanceof BpfError) return { accepted: false, stage: 'kernel', reason: `${e.code}: ${e.message.split('\n')[0]}` };
    if (e instanceof ObjectLoadError || e instanceof ObjectError || e instanceof BtfError) return { accepted: false, stage: 'ours', reason: e.message };
    throw e;
  } finally {
    for (const m of maps.values()) m.close();
  }
}

export interface MeasuredProgram extends CorpusProgram {
  kernel?: KernelVerdict;
}

/** The corpus with the kernel's verdict on every program that could be built (needs BPF privilege). */
export function measureCorpus(): MeasuredProgram[] {
  return corpusPrograms().map((p) => (p.spec ? { ...p, kernel: kernelVerdict(p.spec) } : p));
}

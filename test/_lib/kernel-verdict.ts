// Loads a ProgramSpec into the running kernel (never attached) with its maps created for the load,
// and returns the kernel's verdict with the last line of its log. Everything is closed afterwards.
import type { ProgramSpec } from '../../src/asm/spec.js';
import * as bpf from '../../src/loader/bpf.js';
import type { BpfMap } from '../../src/loader/map.js';
import { LoadedProgram } from '../../src/loader/program.js';
import { BpfError } from '../../src/loader/errors.js';

export type Verdict = 'accept' | 'reject' | 'unloadable';

export interface KernelVerdict { verdict: Verdict; why: string; log: string; processed?: number }

export function kernelVerdict(spec: ProgramSpec, o: { expectedAttachType?: number } = {}): KernelVerdict {
  if (spec.mapRefs.some((r) => !spec.maps.some((m) => m.name === r.map))) return { verdict: 'unloadable', why: 'unknown map', log: '' };
  const fds: number[] = [];
  const maps: Record<string, BpfMap> = {};
  try {
    for (const m of spec.maps) {
      // BpfMap.create refuses zero key/value sizes, which ring buffers need: create those directly.
      const fd = bpf.mapCreate({ type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags ?? 0, name: m.name });
      fds.push(fd);
      maps[m.name] = { fd, spec: m } as unknown as BpfMap;
    }
    const prog = LoadedProgram.load(spec, maps, { verify: false, ...(o.expectedAttachType !== undefined ? { expectedAttachType: o.expectedAttachType } : {}) });
    let processed: number | undefined;
    try {
      processed = prog.info().verifiedInsns;
    } finally {
      prog.close();
    }
    return { verdict: 'accept', why: '', log: '', ...(processed !== undefined ? { processed } : {}) };
  } catch (err) {
    if (err instanceof BpfError && err.command === 'BPF_PROG_LOAD') {
      const lines = err.message.trim().split('\n');
      const why = lines.filter((l) => !/^(processed \d+ insns|\d+: |from \d+ to|;)/.test(l.trim())).pop() ?? lines.pop() ?? '';
      return { verdict: 'reject', why: why.trim(), log: err.message };
    }
    throw err;
  } finally {
    for (const fd of fds) bpf.closeFd(fd);
  }
}

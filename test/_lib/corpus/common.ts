// Shared pieces of the verifier corpus: entry shape, maps, and builders.
// The corpus is run twice: against our verifier (verdict + message) and against the kernel
// (every program we accept must load; programs we reject but the kernel loads are listed).
import type { RawInsn } from '../../../src/asm/encoding.js';
import { program, type Item } from '../../../src/asm/index.js';
import { MapType, ProgType, type ProgTypeId } from '../../../src/asm/opcodes.js';
import type { MapRef, MapSpec, ProgramSpec } from '../../../src/asm/spec.js';

export interface CorpusEntry {
  name: string;
  spec: ProgramSpec;
  /** our verdict */
  ours: 'accept' | 'reject';
  /** for rejections: the reason our message must contain */
  reason?: RegExp;
  /**
   * The kernel's expected verdict when we load it as root. 'accept' on an entry we reject marks a
   * deliberate over-strictness; 'unloadable' means the loader cannot even try (e.g. unknown map).
   */
  kernel: 'accept' | 'reject' | 'unloadable';
}

export const MAPS = {
  counts: { name: 'counts', type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64 },
  comms: { name: 'comms', type: MapType.HASH, keySize: 4, valueSize: 16, maxEntries: 64 },
  arr: { name: 'arr', type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 4 },
  single: { name: 'single', type: MapType.ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 },
  events: { name: 'events', type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 8 },
  rb: { name: 'rb', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 },
} satisfies Record<string, MapSpec>;

export interface ProgOpts { maps?: MapSpec[]; ctxSize?: number; license?: string }

export const RAW_TP = ProgType.RAW_TRACEPOINT;

/** A program built with the DSL. */
export function dsl(name: string, type: ProgTypeId, items: Item[], o: ProgOpts = {}): ProgramSpec {
  const opts: Parameters<typeof program>[0] = { name, type, items, maps: o.maps ?? [], license: o.license ?? 'GPL' };
  if (o.ctxSize !== undefined) opts.ctxSize = o.ctxSize;
  return program(opts);
}

/** A program given as raw slots, for encodings the assembler refuses to produce. */
export function raw(name: string, type: ProgTypeId, insns: RawInsn[], o: ProgOpts & { mapRefs?: MapRef[] } = {}): ProgramSpec {
  const spec: ProgramSpec = { name, type, insns, mapRefs: o.mapRefs ?? [], maps: o.maps ?? [], license: o.license ?? 'GPL' };
  if (o.ctxSize !== undefined) spec.ctxSize = o.ctxSize;
  return spec;
}

export const slot = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });

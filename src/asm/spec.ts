// Plain descriptions of maps and programs, shared by the verifier (which checks against them)
// and the loader (which creates them). They live here, at the bottom layer, so both can use them.
import type { MapTypeId, ProgTypeId } from './opcodes.js';
import type { RawInsn } from './encoding.js';

export interface MapSpec {
  /** Name used by ld_imm64 map references in programs; also given to the kernel (first 15 chars). */
  name: string;
  type: MapTypeId;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** BPF_F_* map flags. */
  flags?: number;
}

/** A reference from an ld_imm64 slot to a map, resolved to an fd when the program is loaded. */
export interface MapRef {
  /** index of the first slot of the ld_imm64 */
  index: number;
  /** the map's name */
  map: string;
  /** Pseudo.MAP_FD, or Pseudo.MAP_VALUE with `offset` into the value */
  kind: 'fd' | 'value';
  offset?: number;
}

export interface ProgramSpec {
  name: string;
  type: ProgTypeId;
  insns: RawInsn[];
  /** map references to resolve at load time */
  mapRefs: MapRef[];
  /** the maps this program uses, by name */
  maps: MapSpec[];
  license: string;
  /**
   * Bytes of context a program may read (raw_tracepoint: 8 per argument; tracepoint: the record size).
   * Used by the static verifier.
   */
  ctxSize?: number;
}

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
  /**
   * Contents of the map's single entry (key 0) written right after it is created: the initial
   * values of a BPF object's global data (.data, .rodata). Absent: the map starts zeroed.
   */
  initial?: Uint8Array;
  /**
   * Freeze the map after `initial` is written (BPF_MAP_FREEZE), as done for .rodata: user space can
   * no longer change it, so the kernel verifier may treat reads of it as known constants.
   */
  freeze?: boolean;
  /** Map-in-map (ARRAY_OF_MAPS, HASH_OF_MAPS): the shape of the inner maps. */
  inner?: MapSpec;
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
  /** enum bpf_attach_type given at load time (program types that need it: cgroup, XDP devmap, tracing …) */
  expectedAttachType?: number;
  /** BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS … given at load time */
  progFlags?: number;
  /**
   * What the program attaches to, from its ELF section name: the function of kprobe/fentry, the
   * "category/name" of a tracepoint … Tracing programs (fentry, tp_btf, lsm) need it to load:
   * the kernel BTF id of this target is passed as attach_btf_id.
   */
  attachTo?: string;
  /** The ELF section the program came from, for a program read from an object file. */
  section?: string;
  /**
   * BTF to load with the program (a program from an object file): the object's BTF as the kernel
   * takes it, and one func_info record per function (main first, then each subprogram by its first
   * instruction). The kernel needs these for callbacks (bpf_loop, for_each_map_elem) and verifies
   * global functions on their own with them.
   */
  btf?: { data: Uint8Array; funcInfo: Array<{ insn: number; typeId: number }> };
}

// Loading a parsed BPF object (src/object) into the kernel: its maps are created (global data
// written and .rodata frozen, as libbpf does), then each program is loaded with the attach type,
// flags and attach BTF id its section implies. Nothing is attached.
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { AttachType, MapType, ProgType } from '../asm/opcodes.js';
import { Btf, BtfKind } from '../btf/index.js';
import type { BpfObject } from '../object/index.js';
import { BpfMap } from './map.js';
import { LoadedProgram, type LoadOptions } from './program.js';
import { possibleCpuCount } from './cpus.js';

/** A program of an object that cannot be loaded for a reason of ours, before the kernel is asked. */
export class ObjectLoadError extends Error {
  constructor(readonly program: string, message: string) {
    super(`program "${program}": ${message}`);
    this.name = 'ObjectLoadError';
  }
}

/** The maps as the kernel needs them: sizes objects leave for user space to fill in at run time. */
export function kernelMapSpec(spec: MapSpec): MapSpec {
  if (spec.type === MapType.PERF_EVENT_ARRAY && spec.maxEntries === 0) return { ...spec, maxEntries: possibleCpuCount() };
  // A stack map whose value size the object leaves to user space: the kernel's default depth
  // (kernel.perf_event_max_stack, 127 frames of 8 bytes).
  if (spec.type === MapType.STACK_TRACE && spec.valueSize === 0) return { ...spec, valueSize: 127 * 8 };
  return spec;
}

/** Creates the maps of an object, by name; on failure the ones already created are closed. */
export function createObjectMaps(specs: readonly MapSpec[]): Map<string, BpfMap> {
  const maps = new Map<string, BpfMap>();
  try {
    for (const spec of specs) maps.set(spec.name, BpfMap.create(kernelMapSpec(spec)));
  } catch (e) {
    for (const m of maps.values()) m.close();
    throw e;
  }
  return maps;
}

/**
 * The kernel BTF id a tracing program attaches to (fentry/fexit/fmod_ret: the function; tp_btf:
 * btf_trace_NAME; lsm: bpf_lsm_NAME; iter: bpf_iter_NAME), or undefined for other programs.
 */
export function attachBtfIdFor(spec: ProgramSpec, btf: Btf = Btf.vmlinux()): number | undefined {
  if (spec.type !== ProgType.TRACING && spec.type !== ProgType.LSM) return undefined;
  const target = spec.attachTo;
  if (!target) throw new ObjectLoadError(spec.name, `section "${spec.section ?? ''}" names no attach target (expected e.g. fentry/FUNCTION)`);
  const find = (name: string, kind: number): number => {
    const id = btf.findType(name, [kind]);
    if (!id) throw new ObjectLoadError(spec.name, `this kernel's BTF has no ${kind === BtfKind.FUNC ? 'function' : 'type'} "${name}" to attach to`);
    return id;
  };
  switch (spec.expectedAttachType) {
    case AttachType.TRACE_RAW_TP: return find(`btf_trace_${target}`, BtfKind.TYPEDEF);
    case AttachType.LSM_MAC: case AttachType.LSM_CGROUP: return find(`bpf_lsm_${target}`, BtfKind.FUNC);
    case AttachType.TRACE_ITER: return find(`bpf_iter_${target}`, BtfKind.FUNC);
    default: return find(target, BtfKind.FUNC);
  }
}

export interface ObjectLoadOptions extends Omit<LoadOptions, 'attachBtfId'> {
  /** load only these programs (by function name); default all */
  programs?: readonly string[];
  /** kernel BTF for attach ids (default: the running kernel's) */
  vmlinux?: Btf;
}

export class LoadedObject {
  private closed = false;
  constructor(readonly maps: ReadonlyMap<string, BpfMap>, readonly programs: ReadonlyMap<string, LoadedProgram>) {}
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
  }
}

/** Loads one program of an object into the kernel, given the object's maps. */
export function loadObjectProgram(spec: ProgramSpec, maps: ReadonlyMap<string, BpfMap>, opts: ObjectLoadOptions & { kernVersion?: number } = {}): LoadedProgram {
  if (spec.type === ProgType.EXT) throw new ObjectLoadError(spec.name, 'freplace programs need the program they replace (attach_prog_fd): not supported');
  if (spec.type === ProgType.STRUCT_OPS) throw new ObjectLoadError(spec.name, 'struct_ops programs need their struct_ops map: not supported');
  const needsBtf = spec.type === ProgType.TRACING || spec.type === ProgType.LSM;
  const attachBtfId = needsBtf ? attachBtfIdFor(spec, opts.vmlinux) : undefined;
  // The maps were created with the sizes the kernel needs (kernelMapSpec): declare those.
  return LoadedProgram.load({ ...spec, maps: spec.maps.map(kernelMapSpec) }, maps as Map<string, BpfMap>, { ...opts, attachBtfId });
}

/** Creates the object's maps and loads its programs (none attached). Close the result when done. */
export function loadObject(obj: BpfObject, opts: ObjectLoadOptions = {}): LoadedObject {
  if (!obj.littleEndian) throw new ObjectLoadError(obj.programs[0]?.spec.name ?? obj.source, `${obj.source} was built for big-endian BPF (bpfeb): this kernel runs little-endian`);
  const maps = createObjectMaps(obj.maps);
  const programs = new Map<string, LoadedProgram>();
  try {
    for (const p of obj.programs) {
      if (opts.programs && !opts.programs.includes(p.spec.name)) continue;
      programs.set(p.spec.name, loadObjectProgram(p.spec, maps, { ...opts, kernVersion: obj.kernelVersion }));
    }
  } catch (e) {
    new LoadedObject(maps, programs).close();
    throw e;
  }
  return new LoadedObject(maps, programs);
}

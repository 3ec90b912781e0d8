// LoadedProgram: a ProgramSpec with its map references resolved to fds and loaded into the kernel.
import type { ProgramSpec } from '../asm/spec.js';
import type { RawInsn } from '../asm/encoding.js';
import { encodeRaw } from '../asm/encoding.js';
import { mapLoads } from '../asm/walk.js';
import * as bpf from './bpf.js';
import type { ProgInfo } from './layouts.js';
import type { BpfMap } from './map.js';
import { assertVerified } from '../verify/static/index.js';

export interface LoadOptions {
  /** verifier log level: 0 (default) logs only on failure, 1 or 2 always */
  logLevel?: number;
  logSize?: number;
  /** overrides spec.expectedAttachType */
  expectedAttachType?: number;
  /** tracing programs (fentry, tp_btf, lsm …): the kernel BTF id of the target (see attachBtfIdFor) */
  attachBtfId?: number;
  kernVersion?: number;
  /** Send spec.btf with the program (default true); false loads it without BTF. */
  sendBtf?: boolean;
  /**
   * Run our static verifier first (default true): a program it refuses never reaches the kernel, and
   * the error names the instruction and the reason in plain words. false skips it (e.g. to compare
   * verdicts with the kernel's).
   */
  verify?: boolean;
  /** Called with the spec and the exact bytes about to be loaded. */
  beforeLoad?: (spec: ProgramSpec, bytes: Buffer) => void;
}

export type MapSet = Map<string, BpfMap> | Record<string, BpfMap>;

/**
 * Copies `spec.insns` with every ld_imm64 in `spec.mapRefs` pointing at its map's fd. Which
 * instruction loads which map, and of what kind, is the shared rule of src/asm/walk.ts mapLoads:
 * only the fd is patched in; the value offset is the instruction's own second slot.
 */
export function resolveMapRefs(spec: ProgramSpec, maps: MapSet): RawInsn[] {
  const lookup = (name: string): BpfMap | undefined => (maps instanceof Map ? maps.get(name) : Object.hasOwn(maps, name) ? maps[name] : undefined);
  const names = () => (maps instanceof Map ? [...maps.keys()] : Object.keys(maps)).join(', ') || 'none';
  const refs = mapLoads(spec);
  const misplaced = refs.issues.find((i) => i.kind === 'not_map_load' || i.kind === 'duplicate');
  if (misplaced) {
    const ref = spec.mapRefs.find((r) => r.index === misplaced.index);
    throw new Error(`program "${spec.name}": map reference to "${ref?.map ?? '?'}" at instruction ${misplaced.index} is not on an ld_imm64 (or is given twice): ${misplaced.message}`);
  }
  const insns = refs.insns.map((i) => ({ ...i }));
  for (const load of refs.loads) {
    if (load.name === undefined) continue;
    const map = lookup(load.name);
    if (!map) throw new Error(`program "${spec.name}": instruction ${load.index} references map "${load.name}", which was not given (maps given: ${names()})`);
    const declared = load.map === undefined ? undefined : spec.maps[load.map];
    if (declared && (declared.keySize !== map.spec.keySize || declared.valueSize !== map.spec.valueSize || declared.type !== map.spec.type)) {
      throw new Error(`program "${spec.name}": map "${load.name}" was declared as type ${declared.type} key ${declared.keySize} value ${declared.valueSize}, ` +
        `but the map given is type ${map.spec.type} key ${map.spec.keySize} value ${map.spec.valueSize}`);
    }
    insns[load.index]!.imm = map.fd;
  }
  return insns;
}

export class LoadedProgram {
  private closed = false;
  private constructor(readonly fd: number, readonly spec: ProgramSpec, readonly maps: ReadonlyMap<string, BpfMap>) {}

  static load(spec: ProgramSpec, maps: MapSet = {}, opts: LoadOptions = {}): LoadedProgram {
    const insns = resolveMapRefs(spec, maps);
    // Verified as loaded: map references carry their pseudo source (and fd) by now.
    if (opts.verify !== false) assertVerified({ ...spec, insns });
    const bytes = encodeRaw(insns);
    opts.beforeLoad?.(spec, bytes);
    // The program's BTF goes to the kernel first; the program holds it, so its fd closes right after.
    const btfFd = spec.btf && opts.sendBtf !== false ? bpf.btfLoad(spec.btf.data) : undefined;
    let fd: number;
    try {
      fd = bpf.progLoad({
      type: spec.type, insns: bytes, license: spec.license, name: spec.name,
      logLevel: opts.logLevel, logSize: opts.logSize, expectedAttachType: opts.expectedAttachType ?? spec.expectedAttachType,
      progFlags: spec.progFlags, attachBtfId: opts.attachBtfId, kernVersion: opts.kernVersion,
      progBtfFd: btfFd, funcInfo: btfFd !== undefined ? spec.btf!.funcInfo : undefined,
      });
    } finally {
      if (btfFd !== undefined) bpf.closeFd(btfFd);
    }
    const used = new Map<string, BpfMap>();
    for (const ref of spec.mapRefs) {
      const m = maps instanceof Map ? maps.get(ref.map) : Object.hasOwn(maps, ref.map) ? maps[ref.map] : undefined;
      if (m) used.set(ref.map, m);
    }
    return new LoadedProgram(fd, spec, used);
  }

  get name(): string { return this.spec.name; }
  info(): ProgInfo { return bpf.progGetInfo(this.fd); }
  testRun(o: bpf.TestRunOptions = {}): bpf.TestRunResult { return bpf.progTestRun(this.fd, o); }

  /** Closes the program fd (attached links keep it alive in the kernel until they close). Maps stay open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    bpf.closeFd(this.fd);
  }
}

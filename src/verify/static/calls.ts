// Helper calls: the helper must be allowed for the program type and each argument must fit its kind.
// Afterwards r1-r5 are clobbered (unreadable) and r0 holds the helper's return kind.
import type { RawInsn } from '../../asm/encoding.js';
import { helperName } from '../../asm/helpers.js';
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from '../../asm/abi.js';
import type { MapSpec } from '../../asm/spec.js';
import { Reject, helperMem, type MemEnv } from './memory.js';
import { PROTOS, mapTypeName, type Proto } from './protos.js';
import { UNINIT, UNKNOWN, cur, describe, mapAllRegs, type RegVal, type State } from './state.js';

export interface CallEnv extends MemEnv {
  progTypeName: string;
  allowed: ReadonlySet<string>;
  gplOk: boolean;
  license: string;
  /** number of subprograms, the main program included */
  subprogs: number;
}

const MAX_MEM_ARG = 1 << 29;

function constArg(r: RegVal, name: string, what: string): number {
  if (r.t !== 'scalar' || r.v === undefined) {
    throw new Reject(`${what} (${name}) must be a constant known at verification time, but it is ${describe(r)}`);
  }
  if (r.v === 0n || r.v >= BigInt(MAX_MEM_ARG)) throw new Reject(`${what} (${name}) is ${r.v}; it must be between 1 and ${MAX_MEM_ARG - 1}`);
  return Number(r.v);
}

/** Helpers that change a map's entries, and those that read them out. */
const WRITES_MAP = new Set(['map_update_elem', 'map_delete_elem', 'map_push_elem', 'map_pop_elem']);
const READS_MAP = new Set(['map_lookup_elem', 'map_peek_elem', 'map_pop_elem', 'map_lookup_percpu_elem']);

/** BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG maps: the kernel's "write into map forbidden" and its read twin. */
function checkMapHelperPerm(map: MapSpec, name: string, full: string): void {
  const flags = map.flags ?? 0;
  if (WRITES_MAP.has(name) && flags & BPF_F_RDONLY_PROG) throw new Reject(`${full} writes map '${map.name}', which is read-only for programs (BPF_F_RDONLY_PROG)`);
  if (READS_MAP.has(name) && flags & BPF_F_WRONLY_PROG) throw new Reject(`${full} reads map '${map.name}', which is write-only for programs (BPF_F_WRONLY_PROG)`);
}

export function helperCall(env: CallEnv, st: State, insn: RawInsn, pc: number): void {
  const full = helperName(insn.imm);
  if (!full) throw new Reject(`helper id ${insn.imm} does not exist`);
  const name = full.slice(4);
  const proto: Proto | undefined = PROTOS[name];
  if (!proto || !env.allowed.has(name)) {
    throw new Reject(`${full} is not allowed in ${env.progTypeName} programs by this verifier (allowed: ${[...env.allowed].join(', ')})`);
  }
  if (proto.gpl && !env.gplOk) {
    throw new Reject(`${full} is GPL-only, but the program's license is '${env.license}' (use a GPL-compatible license such as 'GPL')`);
  }
  const regs = cur(st).regs;
  let map: number | undefined;
  let pending: { reg: RegVal; name: string; write: boolean; kind: string } | undefined;
  let record: Extract<RegVal, { t: 'mem' }> | undefined;
  let allocSize = 0;
  proto.args.forEach((kind, k) => {
    const rn = `r${k + 1}`;
    const r = regs[k + 1]!;
    const what = `argument ${k + 1} of ${full}`;
    if (r.t === 'uninit') throw new Reject(`${what} (${rn}) is uninitialised`);
    switch (kind) {
      case 'map':
        if (r.t !== 'map') throw new Reject(`${what} (${rn}) must be a map loaded with ld_imm64, but it is ${describe(r)}`);
        if (proto.maps && !proto.maps.includes(env.maps[r.map]!.type)) {
          throw new Reject(`${full} cannot be used with map '${env.maps[r.map]!.name}' of type ${mapTypeName(env.maps[r.map]!.type)}`);
        }
        map = r.map;
        checkMapHelperPerm(env.maps[r.map]!, name, full);
        return;
      case 'key':
      case 'value': {
        const m = env.maps[map!]!;
        const size = kind === 'key' ? m.keySize : m.valueSize;
        helperMem(env, st, r, rn, size, false, `${what} (${rn}, the ${size}-byte ${kind} of map '${m.name}')`);
        return;
      }
      case 'ctx':
        if (r.t !== 'ctx' || r.off !== 0 || r.vmax) throw new Reject(`${what} (${rn}) must be the unmodified context pointer, but it is ${describe(r)}`);
        return;
      case 'mem':
      case 'uninit_mem':
      case 'mem_or_null':
        pending = { reg: r, name: rn, write: kind === 'uninit_mem', kind };
        return;
      case 'size_or_zero': {
        // CONST_SIZE_OR_ZERO: a constant, or a number with a known bound (the kernel checks the
        // memory for the bound); 0 reads nothing, NULL memory is allowed only with MAYBE_NULL
        const p = pending!;
        const isNull = p.reg.t === 'scalar' && p.reg.v === 0n;
        if (r.t !== 'scalar' || (r.v === undefined && (r.max === undefined || r.max >= BigInt(MAX_MEM_ARG)))) {
          throw new Reject(`${what}, the size (${rn}) must be a constant or a number with a known upper bound, but it is ${describe(r)}`);
        }
        const n = Number(r.v ?? r.max!);
        if (isNull) {
          if (p.kind !== 'mem_or_null') throw new Reject(`argument ${k} of ${full} (${p.name}) must point to memory, but it is NULL`);
          if (n !== 0) throw new Reject(`argument ${k} of ${full} (${p.name}) is NULL but its size may be ${n}`);
          return;
        }
        if (n === 0) {
          if (!['stack', 'value', 'mem', 'pkt'].includes(p.reg.t)) throw new Reject(`argument ${k} of ${full} (${p.name}) must point to stack, map value or ring buffer memory, but it is ${describe(p.reg)}`);
          return;
        }
        helperMem(env, st, p.reg, p.name, n, p.write, `argument ${k} of ${full} (${p.name}, ${r.v === undefined ? `up to ${n}` : n} bytes)`);
        return;
      }
      case 'size': {
        const n = constArg(r, rn, `${what}, the size`);
        helperMem(env, st, pending!.reg, pending!.name, n, pending!.write, `argument ${k} of ${full} (${pending!.name}, ${n} bytes)`);
        return;
      }
      case 'alloc_size':
        allocSize = constArg(r, rn, `${what}, the record size`);
        return;
      case 'ringbuf_rec':
        if (r.t !== 'mem' || r.off !== 0 || r.vmax || !st.refs.has(r.ref)) {
          throw new Reject(`${what} (${rn}) must be an unmodified, null-checked record from bpf_ringbuf_reserve that is not yet submitted or discarded; it is ${describe(r)}`);
        }
        record = r;
        return;
      case 'any':
        return;
    }
  });

  if (record) {
    const ref = record.ref;
    st.refs.delete(ref);
    // every copy of the released record becomes unusable
    mapAllRegs(st, (v) => (v.t === 'mem' && v.ref === ref ? UNKNOWN : v));
  }
  if (name === 'tail_call') {
    if (st.refs.size) throw new Reject('bpf_tail_call would leak the ring buffer record still reserved (submit or discard it first)');
    if (env.subprogs > 1) throw new Reject('bpf_tail_call in a program with bpf-to-bpf calls is not supported by this verifier');
  }
  if (proto.changesPkt) {
    // the packet may have moved: every packet pointer is now just a number (as the kernel does for root)
    mapAllRegs(st, (v) => (v.t === 'pkt' || v.t === 'pkt_meta' || v.t === 'pkt_end' ? UNKNOWN : v));
  }
  for (let r = 1; r <= 5; r++) regs[r] = UNINIT;
  switch (proto.ret) {
    case 'int': regs[0] = UNKNOWN; break;
    case 'void': regs[0] = UNINIT; break;
    case 'value_or_null': regs[0] = { t: 'value_or_null', map: map!, id: st.nextId++ }; break;
    case 'ringbuf_or_null': {
      const id = st.nextId++;
      st.refs.set(id, { at: pc, frame: st.frames.length - 1 });
      regs[0] = { t: 'mem_or_null', size: allocSize, id };
      break;
    }
  }
}

// BpfVm: compiles a program once, instantiates it once over one preallocated memory, and runs it
// as often as asked. Maps live in JS (maps.ts) with their values in the wasm memory; helpers are
// wasm imports that call plain JS functions.
import { MapType, Pseudo } from '../../asm/opcodes.js';
import type { RawInsn } from '../../asm/encoding.js';
import type { MapSpec, ProgramSpec } from '../../asm/spec.js';
import { helperId, helperName } from '../../asm/helpers.js';
import { compileToWasm, type CompiledBpf } from './compile.js';
import {
  FRAME_SIZE, Fault, MAP_HANDLE_BASE, MAX_FRAMES, MAX_REGIONS, REGION_ENTRY, Region,
  STACK_BYTES, STACK_WASM, regionBase,
} from './layout.js';
import { Errno, VmMap, slotBytes } from './maps.js';
import { BpfFault, LdAbsExit } from './fault.js';
import { BUILTIN_HELPERS } from './builtins.js';
import { accessKind, describeAddr, regionName, where, type RegionInfo } from './messages.js';

/** A helper: receives r1..r5 as unsigned 64-bit values, returns r0. */
export type HelperFn = (vm: BpfVm, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint | number;

export interface VmOptions {
  /** maps (default: the ProgramSpec's) */
  maps?: MapSpec[];
  /** extra or replacement helpers, by id or name ("map_lookup_elem" or "bpf_map_lookup_elem") */
  helpers?: Record<number | string, HelperFn>;
  /** raw bytecode only: map fd (ld_imm64 imm) -> map name; without it imm is an index into `maps` */
  mapFds?: Record<number, string>;
  /** the CPU the program runs on (per-CPU maps, get_smp_processor_id); default 0 */
  cpu?: number;
  /** CPUs per-CPU maps hold values for; default 1 */
  nCpus?: number;
  pid?: number;
  tgid?: number;
  uid?: number;
  gid?: number;
  comm?: string;
  /** value of get_current_task (e.g. the fake address of a task_struct given to addKernelMemory) */
  task?: bigint;
  /** ktime_get_ns and friends; default process.hrtime.bigint */
  clock?: () => bigint;
  /** seed of get_prandom_u32 */
  seed?: number;
  /** instruction budget per run; a run that exceeds it faults (default 16M) */
  maxSteps?: number;
  /** bytes reserved for the context and the data region (defaults 4 KiB and 64 KiB) */
  ctxSize?: number;
  dataSize?: number;
}

export interface RunInput {
  /** context: bytes, or u64 arguments (raw_tracepoint); r1 points at it */
  ctx?: Uint8Array | bigint[];
  /** data: r1 = pointer, r2 = length (with ctx as well: r1 = ctx, r2 = data pointer) */
  data?: Uint8Array;
  /** overrides r1 */
  r1?: bigint;
}

export interface RunResult {
  /** r0 as an unsigned 64-bit value */
  r0: bigint;
  /** instructions executed */
  steps: number;
}


interface Exports {
  run(r1: bigint, r2: bigint): bigint;
  repeat(n: number, r1: bigint, r2: bigint): bigint;
  steps: WebAssembly.Global;
  budget: WebAssembly.Global;
  [sub: string]: unknown;
}

const DATA_PTR = regionBase(Region.DATA);
const HANDLE_HI = Number(MAP_HANDLE_BASE >> 32n);
const FAST_MAP_HELPERS = [1, 2, 3];
const BUILTIN_BY_ID = new Map(Object.entries(BUILTIN_HELPERS).map(([name, fn]) => [helperId(name), fn]));
const CTX_PTR = regionBase(Region.CTX);

type SubprogFn = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, depth: number) => bigint;

export class BpfVm {
  readonly insns: RawInsn[];
  readonly spec?: ProgramSpec;
  compiled: CompiledBpf;
  /** the JS-side map store, by name */
  readonly maps = new Map<string, VmMap>();
  /** lines written by trace_printk */
  readonly printk: string[] = [];
  readonly memory: WebAssembly.Memory;
  cpu: number;
  readonly nCpus: number;
  pid: number;
  tgid: number;
  uid: number;
  gid: number;
  comm: string;
  task: bigint;
  clock: () => bigint;
  /** slot index of the instruction calling the current helper, and its frame depth */
  currentPc = -1;
  currentDepth = 0;
  private mem: Uint8Array;
  private readonly view: DataView;
  private readonly mapList: VmMap[] = [];
  private readonly regions: RegionInfo[] = [];
  private readonly helpers = new Map<number, HelperFn>();
  private readonly kernelMem: Array<{ addr: bigint; bytes: Uint8Array }> = [];
  private exports: Exports;
  private readonly fast = new Set<number>();
  private readonly ldImm64: (pc: number, first: RawInsn, second: RawInsn) => bigint | undefined;
  private rng: number;
  private steps: number;
  private readonly ctxWasm: number;
  private readonly dataWasm: number;
  private readonly ctxCap: number;
  private readonly dataCap: number;
  private dataLen = 0n;
  private r1 = 0n;
  private r2 = 0n;

  constructor(program: RawInsn[] | ProgramSpec, opts: VmOptions = {}) {
    const spec = Array.isArray(program) ? undefined : program;
    this.spec = spec;
    this.insns = spec ? spec.insns : (program as RawInsn[]);
    this.cpu = opts.cpu ?? 0;
    this.nCpus = opts.nCpus ?? 1;
    if (this.cpu >= this.nCpus) throw new RangeError(`cpu ${this.cpu} is not below nCpus ${this.nCpus}`);
    this.pid = opts.pid ?? 1000;
    this.tgid = opts.tgid ?? this.pid;
    this.uid = opts.uid ?? 0;
    this.gid = opts.gid ?? 0;
    this.comm = opts.comm ?? 'bpfvm';
    this.task = opts.task ?? 0n;
    this.clock = opts.clock ?? (() => process.hrtime.bigint());
    this.rng = (opts.seed ?? 0x2545f491) >>> 0 || 1;
    this.steps = opts.maxSteps ?? 16_000_000;

    // Layout: region table, stack frames, ctx, data, then one region per map.
    const ctxSize = (this.ctxCap = opts.ctxSize ?? 4096);
    const dataSize = (this.dataCap = opts.dataSize ?? 65536);
    let at = STACK_WASM + STACK_BYTES;
    const place = (bytes: number): number => {
      const base = at;
      at = base + ((bytes + 63) & ~63);
      return base;
    };
    this.ctxWasm = place(ctxSize);
    this.dataWasm = place(dataSize);
    this.regions[Region.NULL] = { name: 'null', wasmBase: 0, size: 0, mask: -1, limit: 0 };
    this.regions[Region.STACK] = { name: 'stack', wasmBase: STACK_WASM, size: STACK_BYTES, mask: -1, limit: STACK_BYTES };
    this.regions[Region.CTX] = { name: 'ctx', wasmBase: this.ctxWasm, size: 0, mask: -1, limit: 0 };
    this.regions[Region.DATA] = { name: 'data', wasmBase: this.dataWasm, size: 0, mask: -1, limit: 0 };
    const mapSpecs = opts.maps ?? spec?.maps ?? [];
    if (Region.MAP0 + mapSpecs.length > MAX_REGIONS) throw new RangeError(`at most ${MAX_REGIONS - Region.MAP0} maps`);
    const pending: Array<[MapSpec, number, number, number, number]> = [];
    mapSpecs.forEach((ms, i) => {
      const id = Region.MAP0 + i;
      if (ms.type === MapType.RINGBUF || ms.type === MapType.PERF_EVENT_ARRAY) {
        this.regions[id] = { name: `map '${ms.name}'`, wasmBase: 0, size: 0, mask: -1, limit: 0 };
        pending.push([ms, id, 0, 8, 0]);
        return;
      }
      const perCpu = ms.type === MapType.PERCPU_ARRAY || ms.type === MapType.PERCPU_HASH || ms.type === MapType.LRU_PERCPU_HASH;
      const slot = slotBytes(ms.valueSize);
      const slots = ms.maxEntries * (perCpu ? this.nCpus : 1);
      const base = place(slot * slots);
      this.regions[id] = { name: `map '${ms.name}'`, wasmBase: base, size: slot * slots, mask: slot - 1, limit: ms.valueSize };
      pending.push([ms, id, base, slot, slots]);
    });
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
    this.mem = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
    for (const [ms, id, wasmBase, slot, slots] of pending) {
      const m = new VmMap(ms, id - Region.MAP0, { regionId: id, wasmBase, slot, slots }, () => this.mem, this.nCpus);
      this.maps.set(ms.name, m);
      this.mapList.push(m);
    }
    this.regions.forEach((_, id) => this.writeRegion(id));

    for (const [name, fn] of Object.entries(BUILTIN_HELPERS)) this.helpers.set(helperId(name), fn);
    for (const [key, fn] of Object.entries(opts.helpers ?? {})) this.addHelper(key, fn);

    for (const id of FAST_MAP_HELPERS) if (this.helpers.get(id) === BUILTIN_BY_ID.get(id)) this.fast.add(id);
    this.ldImm64 = (pc, first, second) => this.resolveLdImm64(pc, first, second, opts);
    [this.compiled, this.exports] = this.build();
  }

  /** Compiles and instantiates over the existing memory (again after a map helper is replaced). */
  private build(): [CompiledBpf, Exports] {
    const compiled = compileToWasm(this.insns, { ldImm64: this.ldImm64, fastMapHelpers: this.fast });
    const env: Record<string, unknown> = {
      mem: this.memory,
      fault: (kind: number, pc: number, addr: bigint, width: number) => this.raiseFault(kind, pc, addr, width),
      ldabs: (pc: number, off: bigint, width: number) => this.ldAbs(pc, off, width),
    };
    for (const id of compiled.helpers) env[this.fast.has(id) ? `m${id}` : `h${id}`] = this.fast.has(id) ? this.fastImport(id) : this.helperImport(id);
    const exports = new WebAssembly.Instance(compiled.module, { env } as WebAssembly.Imports).exports as unknown as Exports;
    exports.budget.value = this.steps;
    return [compiled, exports];
  }

  /** Instruction budget per run. */
  get maxSteps(): number {
    return this.steps;
  }
  set maxSteps(n: number) {
    this.steps = n;
    this.exports.budget.value = n;
  }

  /** Adds or replaces a helper, by id or name; takes effect on the next call. */
  addHelper(idOrName: number | string, fn: HelperFn): void {
    const id = typeof idOrName === 'number' || /^\d+$/.test(idOrName) ? Number(idOrName) : helperId(idOrName);
    this.helpers.set(id, fn);
    // A replaced map helper must go through the generic (BigInt) import: rebuild once.
    if (this.fast.delete(id) && this.exports) [this.compiled, this.exports] = this.build();
  }

  /** Registers memory that probe_read* can read at fake address `addr` (e.g. a synthetic task_struct). */
  addKernelMemory(addr: bigint, bytes: Uint8Array): void {
    this.kernelMem.push({ addr: BigInt.asUintN(64, addr), bytes });
  }

  run(input: RunInput = {}): RunResult {
    this.prepare(input);
    let r0: bigint;
    try {
      r0 = this.exports.run(this.r1, this.r2);
    } catch (e) {
      if (!(e instanceof LdAbsExit)) throw e;
      r0 = 0n;
    }
    return { r0: r0 < 0n ? BigInt.asUintN(64, r0) : r0, steps: this.steps - (this.exports.steps.value as number) };
  }

  /** Runs `repeat` times on the same input inside wasm (like BPF_PROG_TEST_RUN's repeat); returns the last r0. */
  runRepeat(input: RunInput, repeat: number): bigint {
    this.prepare(input);
    try {
      return BigInt.asUintN(64, this.exports.repeat(Math.max(1, repeat), this.r1, this.r2));
    } catch (e) {
      if (!(e instanceof LdAbsExit)) throw e;
      return 0n;
    }
  }

  /** A copy of the data region as the last run left it (like BPF_PROG_TEST_RUN's data_out). */
  dataOut(): Uint8Array {
    const r = this.regions[Region.DATA];
    return this.mem.slice(r.wasmBase, r.wasmBase + r.size);
  }

  // Per-run input handling stays allocation-free for repeated inputs of the same size.
  private prepare(input: RunInput): void {
    let r1 = 0n, r2 = 0n;
    const data = input.data;
    if (data !== undefined) {
      if (data.length !== this.regions[Region.DATA].size) {
        this.resize(Region.DATA, data.length);
        this.dataLen = BigInt(data.length);
      }
      this.mem.set(data, this.dataWasm);
      r1 = DATA_PTR;
      r2 = this.dataLen;
    }
    const ctx = input.ctx;
    if (ctx !== undefined) {
      if (ctx instanceof Uint8Array) {
        if (ctx.length !== this.regions[Region.CTX].size) this.resize(Region.CTX, ctx.length);
        this.mem.set(ctx, this.ctxWasm);
      } else {
        if (ctx.length * 8 !== this.regions[Region.CTX].size) this.resize(Region.CTX, ctx.length * 8);
        for (let i = 0; i < ctx.length; i++) this.view.setBigUint64(this.ctxWasm + i * 8, BigInt.asUintN(64, ctx[i]), true);
      }
      if (data !== undefined) r2 = r1;
      r1 = CTX_PTR;
    }
    if (input.r1 !== undefined) r1 = input.r1;
    this.r1 = r1;
    this.r2 = r2;
  }

  private resize(id: number, bytes: number): void {
    const r = this.regions[id];
    const capacity = id === Region.CTX ? this.ctxCap : this.dataCap;
    if (bytes > capacity) throw new RangeError(`${r.name} of ${bytes} bytes exceeds the ${capacity} reserved (VmOptions.${r.name}Size)`);
    r.size = r.limit = bytes;
    this.writeRegion(id);
  }

  private writeRegion(id: number): void {
    const r = this.regions[id];
    const at = id * REGION_ENTRY;
    this.view.setUint32(at, r.wasmBase, true);
    this.view.setUint32(at + 4, r.size, true);
    this.view.setUint32(at + 8, r.mask >>> 0, true);
    this.view.setUint32(at + 12, r.limit, true);
  }

  // ---- for helpers --------------------------------------------------------------------------

  /** The map behind a map handle (r1 of the map helpers). */
  mapOf(handle: bigint): VmMap {
    const m = this.mapList[Number(BigInt.asUintN(64, handle) - MAP_HANDLE_BASE)];
    if (!m || handle < MAP_HANDLE_BASE) {
      throw new BpfFault('helper', this.currentPc, `${where(this.insns, this.currentPc)}: 0x${handle.toString(16)} is not a map`);
    }
    return m;
  }

  /** Wasm address of `len` bytes at fake address `addr`, or a fault naming the current helper call. */
  translate(addr: bigint, len: number): number {
    const a = BigInt.asUintN(64, addr);
    const hi = Number(a >> 32n), lo = Number(a & 0xffffffffn);
    const r = hi < MAX_REGIONS ? this.regions[hi] : undefined;
    if (!r || lo >= r.size || ((lo & r.mask) >>> 0) + len > r.limit) {
      throw new BpfFault('access', this.currentPc, `${where(this.insns, this.currentPc)}: helper access of ${len} bytes at 0x${a.toString(16)}: ${describeAddr(this.regions, a, len)}`, a, r?.name);
    }
    return r.wasmBase + lo;
  }

  /** A view (not a copy) of VM memory; `write` only documents intent. */
  read(addr: bigint, len: number, write = false): Uint8Array {
    void write;
    const at = this.translate(addr, len);
    return this.mem.subarray(at, at + len);
  }

  /** Bytes at a kernel address registered with addKernelMemory, or in VM memory; null if unmapped. */
  readForeign(addr: bigint, len: number): Uint8Array | null {
    const a = BigInt.asUintN(64, addr);
    for (const k of this.kernelMem) {
      if (a >= k.addr && a + BigInt(len) <= k.addr + BigInt(k.bytes.length)) {
        const off = Number(a - k.addr);
        return k.bytes.subarray(off, off + len);
      }
    }
    try {
      return this.read(a, len);
    } catch {
      return null;
    }
  }

  /** A 32-bit pseudo-random number (xorshift32, seeded). */
  random(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng;
  }

  /** The wasm function of the subprogram starting at slot `start` (bpf_loop callbacks). */
  subprogram(start: number): SubprogFn {
    const fn = this.exports[`f${start}`];
    if (typeof fn !== 'function') throw new BpfFault('helper', this.currentPc, `${where(this.insns, this.currentPc)}: no subprogram at insn ${start}`);
    return fn as SubprogFn;
  }

  // ---- internals ----------------------------------------------------------------------------

  /** Number-only imports for the map helpers (see CompileOptions.fastMapHelpers). */
  private fastImport(id: number): (...a: number[]) => number {
    if (id === 1) {
      return (alo, ahi, blo, bhi, _clo, _chi, _dlo, _dhi, pc) => {
        const m = this.mapAt(alo, ahi, pc);
        const at = this.at32(blo, bhi, m.spec.keySize, pc);
        const e = m.entryOf(this.mem.subarray(at, at + m.spec.keySize), true);
        return e < 0 ? -1 : m.offsetOf(e, m.perCpu ? this.cpu : 0);
      };
    }
    if (id === 2) {
      return (alo, ahi, blo, bhi, clo, chi, dlo, dhi, pc) => {
        const m = this.mapAt(alo, ahi, pc);
        const k = this.at32(blo, bhi, m.spec.keySize, pc);
        const v = this.at32(clo, chi, m.spec.valueSize, pc);
        if (dhi !== 0 || dlo >>> 0 > 0xffff) return -Errno.EINVAL;
        return m.update(this.mem.subarray(k, k + m.spec.keySize), this.mem.subarray(v, v + m.spec.valueSize), dlo, this.cpu);
      };
    }
    return (alo, ahi, blo, bhi, _clo, _chi, _dlo, _dhi, pc) => {
      const m = this.mapAt(alo, ahi, pc);
      const k = this.at32(blo, bhi, m.spec.keySize, pc);
      return m.delete(this.mem.subarray(k, k + m.spec.keySize));
    };
  }

  private mapAt(lo: number, hi: number, pc: number): VmMap {
    const m = hi === HANDLE_HI ? this.mapList[lo >>> 0] : undefined;
    if (m) return m;
    this.currentPc = pc;
    return this.mapOf((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0));
  }

  /** translate() on a pointer given as two i32 halves, without BigInt unless it faults. */
  private at32(lo: number, hi: number, len: number, pc: number): number {
    const off = lo >>> 0;
    const r = hi >>> 0 < MAX_REGIONS ? this.regions[hi] : undefined;
    if (r && off < r.size && ((off & r.mask) >>> 0) + len <= r.limit) return r.wasmBase + off;
    this.currentPc = pc;
    return this.translate((BigInt(hi >>> 0) << 32n) | BigInt(off), len);
  }

  private helperImport(id: number): (...a: unknown[]) => bigint {
    const U = (v: bigint): bigint => BigInt.asUintN(64, v);
    return (a, b, c, d, e, pc, depth) => {
      const fn = this.helpers.get(id);
      if (!fn) {
        throw new BpfFault('helper', pc as number, `${where(this.insns, pc as number)}: helper ${id} (${helperName(id) ?? 'unknown'}) is not available; provide it with vm.addHelper()`);
      }
      const savedPc = this.currentPc, savedDepth = this.currentDepth;
      this.currentPc = pc as number;
      this.currentDepth = depth as number;
      const r = fn(this, U(a as bigint), U(b as bigint), U(c as bigint), U(d as bigint), U(e as bigint));
      this.currentPc = savedPc;
      this.currentDepth = savedDepth;
      return typeof r === 'bigint' ? r : BigInt(r);
    };
  }

  private resolveLdImm64(pc: number, first: RawInsn, second: RawInsn, opts: VmOptions): bigint | undefined {
    let name: string | undefined;
    let kind: 'fd' | 'value' = first.src === Pseudo.MAP_VALUE || first.src === Pseudo.MAP_IDX_VALUE ? 'value' : 'fd';
    let offset = second.imm >>> 0;
    const ref = this.spec?.mapRefs.find((r) => r.index === pc);
    if (ref) {
      name = ref.map;
      kind = ref.kind;
      offset = ref.offset ?? 0;
    } else if (first.src === Pseudo.MAP_FD || first.src === Pseudo.MAP_VALUE) {
      name = opts.mapFds ? opts.mapFds[first.imm] : this.mapList[first.imm]?.name;
    } else if (first.src === Pseudo.MAP_IDX || first.src === Pseudo.MAP_IDX_VALUE) {
      name = this.mapList[first.imm]?.name;
    } else {
      return undefined;
    }
    const m = name === undefined ? undefined : this.maps.get(name);
    if (!m) throw new BpfFault('helper', pc, `insn ${pc}: ld_imm64 refers to map ${name ?? `#${first.imm}`}, which is not among the VM's maps`);
    if (kind === 'fd') return MAP_HANDLE_BASE | BigInt(m.id);
    if (!m.isArray || offset >= m.spec.valueSize) {
      throw new BpfFault('helper', pc, `insn ${pc}: direct value access needs an array map and an offset below the value size`);
    }
    return m.pointer(0, m.perCpu ? this.cpu : 0) + BigInt(offset);
  }

  private ldAbs(pc: number, off: bigint, width: number): bigint {
    const o = Number(BigInt.asIntN(32, off));
    const r = this.regions[Region.DATA];
    if (o < 0 || o + width > r.size) throw new LdAbsExit();
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + this.mem[r.wasmBase + o + i];
    void pc;
    return BigInt(v);
  }

  private raiseFault(kind: number, pc: number, addr: bigint, width: number): never {
    const a = BigInt.asUintN(64, addr);
    const at = where(this.insns, pc);
    switch (kind) {
      case Fault.ACCESS: {
        const what = accessKind(this.insns, pc);
        throw new BpfFault('access', pc, `${at}: out-of-bounds ${what} of ${width} bytes at 0x${a.toString(16)}: ${describeAddr(this.regions, a, width)}`, a, regionName(this.regions, a));
      }
      case Fault.FRAME:
        throw new BpfFault('frame', pc, `${at}: stack access of ${width} bytes at fp${this.insns[pc].off >= 0 ? '+' : ''}${this.insns[pc].off} is outside the ${FRAME_SIZE}-byte frame`, a, 'stack');
      case Fault.BUDGET:
        throw new BpfFault('budget', pc, `instruction budget of ${this.steps} exhausted in the subprogram at insn ${pc} (a runaway loop?); raise VmOptions.maxSteps if it is legitimate`);
      default:
        throw new BpfFault('depth', pc, `${at}: bpf-to-bpf calls nested deeper than ${MAX_FRAMES} frames`);
    }
  }
}

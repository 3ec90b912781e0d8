// BpfVm: compiles a program once, instantiates it once over one preallocated memory, and runs it
// as often as asked. Maps live in JS (maps.ts) with their values in the wasm memory; helpers are
// wasm imports that call plain JS functions.
import { MapType } from '../asm/opcodes.js';
import type { RawInsn } from '../asm/encoding.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { mapLoads, type MapLoad } from '../asm/walk.js';
import { isPerCpuMapType } from '../asm/abi.js';
import { helperId } from '../asm/helpers.js';
import { compileToWasm, type ArrayMapInfo, type CompiledBpf } from './compile.js';
import type { HelperFn, RunInput, RunResult, VmOptions } from './options.js';
import { callxImport, helperImport } from './imports.js';
import type { Isa } from './cfg.js';
import { LAYOUT_END, MAP_HANDLE_BASE, MAX_REGIONS, REGION_ENTRY, Region, STACK_BYTES, STACK_WASM, regionBase } from './layout.js';
import { VmMap, slotBytes } from './maps.js';
import { BpfFault, LdAbsExit } from './fault.js';
import { BUILTIN_HELPERS } from './builtins.js';
import { VmPerfBuf, VmRingBuf, checkRingbufSpec } from './events.js';
import { describeAddr, faultError, where, type RegionInfo } from './messages.js';
import { arrayMapInfo, fastMapImport, resolveMapLdImm64, type MapHost } from './map-imports.js';

export type { HelperFn, VmOptions, RunInput, RunResult } from './options.js';

interface Exports {
  run(r1: bigint, r2: bigint): bigint;
  repeat(n: number, r1: bigint, r2: bigint): bigint;
  steps: WebAssembly.Global;
  budget: WebAssembly.Global;
  cpu: WebAssembly.Global;
  [sub: string]: unknown;
}

const DATA_PTR = regionBase(Region.DATA);
const FAST_MAP_HELPERS = [1, 2, 3];
const BUILTIN_BY_ID = new Map(Object.entries(BUILTIN_HELPERS).map(([name, fn]) => [helperId(name), fn]));
const CTX_PTR = regionBase(Region.CTX);

type SubprogFn = (r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint, depth: number) => bigint;

export class BpfVm {
  readonly insns: RawInsn[];
  readonly spec?: ProgramSpec;
  /** map ld_imm64s of the spec, by first slot */
  readonly loads?: ReadonlyMap<number, MapLoad>;
  compiled: CompiledBpf;
  /** the JS-side map store, by name */
  readonly maps = new Map<string, VmMap>();
  /** ring buffer maps (BPF_MAP_TYPE_RINGBUF), by name: consume() what the program submitted */
  readonly ringbufs = new Map<string, VmRingBuf>();
  /** perf event arrays, by name: consume() what the program output, per CPU */
  readonly perfbufs = new Map<string, VmPerfBuf>();
  /** lines written by trace_printk */
  readonly printk: string[] = [];
  readonly memory: WebAssembly.Memory;
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
  /** regions[Region.CTX] and regions[Region.DATA], which every VM has */
  private readonly ctxRegion: RegionInfo;
  private readonly dataRegion: RegionInfo;
  /** helpers by id (builtins and addHelper) */
  readonly helpers = new Map<number, HelperFn>();
  private readonly kernelMem: Array<{ addr: bigint; bytes: Uint8Array }> = [];
  private exports: Exports;
  private readonly fast = new Set<number>();
  private readonly ldImm64: (pc: number, first: RawInsn, second: RawInsn) => bigint | undefined;
  private rng: number;
  private cpuNow = 0;
  private steps: number;
  private readonly ctxWasm: number;
  private readonly dataWasm: number;
  private readonly ctxCap: number;
  private readonly dataCap: number;
  private dataLen = 0n;
  private r1 = 0n;
  private r2 = 0n;
  private readonly isa: Isa;
  private readonly maxFunctionInsns?: number;

  constructor(program: RawInsn[] | ProgramSpec, opts: VmOptions = {}) {
    const spec = Array.isArray(program) ? undefined : program;
    this.spec = spec;
    // map references resolved once, by the same rules as the verifier and the loader
    const refs = spec ? mapLoads(spec) : undefined;
    this.loads = refs?.byIndex;
    this.insns = refs ? refs.insns : (program as RawInsn[]);
    this.nCpus = opts.nCpus ?? 1;
    this.cpu = opts.cpu ?? 0;
    this.pid = opts.pid ?? 1000;
    this.tgid = opts.tgid ?? this.pid;
    this.uid = opts.uid ?? 0;
    this.gid = opts.gid ?? 0;
    this.comm = opts.comm ?? 'bpfvm';
    this.task = opts.task ?? 0n;
    this.clock = opts.clock ?? (() => process.hrtime.bigint());
    this.rng = (opts.seed ?? 0x2545f491) >>> 0 || 1;
    this.steps = opts.maxSteps ?? 16_000_000;
    this.isa = opts.isa ?? 'linux';
    this.maxFunctionInsns = opts.maxFunctionInsns;

    // Layout: region table, stack frames, ctx, data, then one region per map.
    const ctxSize = (this.ctxCap = opts.ctxSize ?? 4096);
    const dataSize = (this.dataCap = opts.dataSize ?? 65536);
    let at = LAYOUT_END;
    const place = (bytes: number): number => {
      const base = at;
      at = base + ((bytes + 63) & ~63);
      return base;
    };
    this.ctxWasm = place(ctxSize);
    this.dataWasm = place(dataSize);
    this.regions[Region.NULL] = { name: 'null', wasmBase: 0, size: 0, mask: -1, limit: 0 };
    this.regions[Region.STACK] = { name: 'stack', wasmBase: STACK_WASM, size: STACK_BYTES, mask: -1, limit: STACK_BYTES };
    this.regions[Region.CTX] = this.ctxRegion = { name: 'ctx', wasmBase: this.ctxWasm, size: 0, mask: -1, limit: 0 };
    this.regions[Region.DATA] = this.dataRegion = { name: 'data', wasmBase: this.dataWasm, size: 0, mask: -1, limit: 0 };
    const mapSpecs = opts.maps ?? spec?.maps ?? [];
    if (Region.MAP0 + mapSpecs.length > MAX_REGIONS) throw new RangeError(`at most ${MAX_REGIONS - Region.MAP0} maps`);
    const pending: Array<[MapSpec, number, number, number, number]> = [];
    mapSpecs.forEach((ms, i) => {
      const id = Region.MAP0 + i;
      if (ms.type === MapType.RINGBUF) {
        checkRingbufSpec(ms);
        const base = place(2 * ms.maxEntries);
        this.regions[id] = { name: `ring buffer '${ms.name}'`, wasmBase: base, size: 2 * ms.maxEntries, mask: -1, limit: 2 * ms.maxEntries };
        this.ringbufs.set(ms.name, new VmRingBuf(ms, id, base, () => this.mem));
        pending.push([ms, id, base, 8, 0]);
        return;
      }
      if (ms.type === MapType.PERF_EVENT_ARRAY) {
        this.regions[id] = { name: `map '${ms.name}'`, wasmBase: 0, size: 0, mask: -1, limit: 0 };
        const pb = new VmPerfBuf(ms, this.nCpus);
        if (opts.perfBufferBytes !== undefined) pb.capacity = opts.perfBufferBytes;
        this.perfbufs.set(ms.name, pb);
        pending.push([ms, id, 0, 8, 0]);
        return;
      }
      const perCpu = isPerCpuMapType(ms.type);
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
      // A BPF object's global data (.data, .rodata): the single value starts as the file gives it.
      if (ms.initial && m.isArray) {
        const value = new Uint8Array(ms.valueSize);
        value.set(ms.initial.subarray(0, ms.valueSize));
        for (let cpu = 0; cpu < m.nCpus; cpu++) m.update(new Uint8Array(ms.keySize), value, 0, cpu);
      }
    }
    this.regions.forEach((r, id) => this.writeRegion(id, r));

    for (const [name, fn] of Object.entries(BUILTIN_HELPERS)) this.helpers.set(helperId(name), fn);
    for (const [key, fn] of Object.entries(opts.helpers ?? {})) this.addHelper(key, fn);

    for (const id of FAST_MAP_HELPERS) if (this.helpers.get(id) === BUILTIN_BY_ID.get(id)) this.fast.add(id);
    this.ldImm64 = (pc, first, second) => resolveMapLdImm64(this, this.mapList, opts.mapFds, pc, first, second);
    [this.compiled, this.exports] = this.build();
  }

  /** Compiles and instantiates over the existing memory (again after a map helper is replaced). */
  private build(): [CompiledBpf, Exports] {
    const host: MapHost = {
      mapList: this.mapList, regions: this.regions, mem: () => this.mem, cpu: () => this.cpuNow,
      mapOf: (handle, pc) => ((this.currentPc = pc), this.mapOf(handle)),
      translate: (addr, len, pc) => ((this.currentPc = pc), this.translate(addr, len)),
    };
    const arrayMap = (v: bigint): ArrayMapInfo | undefined => arrayMapInfo(host, v);
    const compiled = compileToWasm(this.insns, { ldImm64: this.ldImm64, fastMapHelpers: this.fast, arrayMap, isa: this.isa, maxFunctionInsns: this.maxFunctionInsns });
    const env: Record<string, unknown> = {
      mem: this.memory,
      fault: (kind: number, pc: number, addr: bigint, width: number) => {
        throw faultError(this.insns, this.regions, this.steps, kind, pc, addr, width);
      },
      ldabs: (pc: number, off: bigint, width: number) => this.ldAbs(pc, off, width),
    };
    if (compiled.callx) env.callx = callxImport(this);
    for (const id of compiled.helpers) env[this.fast.has(id) ? `m${id}` : `h${id}`] = this.fast.has(id) ? fastMapImport(host, id) : helperImport(this, id);
    const exports = new WebAssembly.Instance(compiled.module, { env } as WebAssembly.Imports).exports as unknown as Exports;
    exports.budget.value = this.steps;
    exports.cpu.value = this.cpuNow;
    return [compiled, exports];
  }

  /** The CPU the program runs on (per-CPU maps, get_smp_processor_id); inlined lookups read it from wasm. */
  get cpu(): number {
    return this.cpuNow;
  }
  set cpu(n: number) {
    if (!(Number.isInteger(n) && n >= 0 && n < this.nCpus)) throw new RangeError(`cpu ${n} is not below nCpus ${this.nCpus}`);
    this.cpuNow = n;
    if (this.exports) this.exports.cpu.value = n;
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
    const r = this.dataRegion;
    return this.mem.slice(r.wasmBase, r.wasmBase + r.size);
  }

  // Per-run input handling stays allocation-free for repeated inputs of the same size.
  private prepare(input: RunInput): void {
    let r1 = 0n, r2 = 0n;
    const data = input.data;
    if (data !== undefined) {
      if (data.length !== this.dataRegion.size) {
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
        if (ctx.length !== this.ctxRegion.size) this.resize(Region.CTX, ctx.length);
        this.mem.set(ctx, this.ctxWasm);
      } else {
        if (ctx.length * 8 !== this.ctxRegion.size) this.resize(Region.CTX, ctx.length * 8);
        for (let i = 0; i < ctx.length; i++) this.view.setBigUint64(this.ctxWasm + i * 8, BigInt.asUintN(64, ctx[i]!), true);
      }
      if (data !== undefined) r2 = r1;
      r1 = CTX_PTR;
    }
    if (input.r1 !== undefined) r1 = input.r1;
    this.r1 = r1;
    this.r2 = r2;
  }

  private resize(id: typeof Region.CTX | typeof Region.DATA, bytes: number): void {
    const r = id === Region.CTX ? this.ctxRegion : this.dataRegion;
    const capacity = id === Region.CTX ? this.ctxCap : this.dataCap;
    if (bytes > capacity) throw new RangeError(`${r.name} of ${bytes} bytes exceeds the ${capacity} reserved (VmOptions.${r.name}Size)`);
    r.size = r.limit = bytes;
    this.writeRegion(id, r);
  }

  private writeRegion(id: number, r: RegionInfo): void {
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

  /** The ring buffer behind a map handle, or a fault naming the current helper call. */
  ringbufOf(handle: bigint): VmRingBuf {
    const rb = this.ringbufs.get(this.mapOf(handle).name);
    if (!rb) throw new BpfFault('helper', this.currentPc, `${where(this.insns, this.currentPc)}: map '${this.mapOf(handle).name}' is not a ring buffer`);
    return rb;
  }

  /** The ring buffer whose region holds record pointer `ptr` (submit/discard), and the offset in it. */
  ringbufAt(ptr: bigint): [VmRingBuf, number] {
    const a = BigInt.asUintN(64, ptr);
    const id = Number(a >> 32n);
    for (const rb of this.ringbufs.values()) if (rb.regionId === id) return [rb, Number(a & 0xffffffffn)];
    throw new BpfFault('helper', this.currentPc, `${where(this.insns, this.currentPc)}: 0x${a.toString(16)} is not a ring buffer record`);
  }

  /** The perf event array behind a map handle, or a fault naming the current helper call. */
  perfbufOf(handle: bigint): VmPerfBuf {
    const pb = this.perfbufs.get(this.mapOf(handle).name);
    if (!pb) throw new BpfFault('helper', this.currentPc, `${where(this.insns, this.currentPc)}: map '${this.mapOf(handle).name}' is not a perf event array`);
    return pb;
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

  private ldAbs(pc: number, off: bigint, width: number): bigint {
    const o = Number(BigInt.asIntN(32, off));
    const r = this.dataRegion;
    if (o < 0 || o + width > r.size) throw new LdAbsExit();
    let v = 0;
    for (let i = 0; i < width; i++) v = v * 256 + this.mem[r.wasmBase + o + i]!; // inside the data region: checked above
    void pc;
    return BigInt(v);
  }
}

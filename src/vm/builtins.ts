// The helpers the engine provides out of the box. Each takes the VM and r1..r5 as unsigned 64-bit
// bigints and returns r0. Return codes are the kernel's (negative errno).
import type { BpfVm, HelperFn } from './runtime.js';
import { Errno } from './maps.js';
import { FUNC_HANDLE_BASE, regionBase } from './layout.js';
import { BpfFault } from './fault.js';
import { where } from './messages.js';

const MAX_LOOPS = 1 << 23; // bpf_loop's limit (BPF_MAX_LOOPS)

const u32 = (v: bigint): number => Number(v & 0xffffffffn);

function mapLookup(vm: BpfVm, map: bigint, key: bigint): bigint {
  const m = vm.mapOf(map);
  const e = m.entryOf(vm.read(key, m.spec.keySize), true);
  return e < 0 ? 0n : m.pointer(e, m.perCpu ? vm.cpu : 0);
}

function mapUpdate(vm: BpfVm, map: bigint, key: bigint, value: bigint, flags: bigint): bigint {
  const m = vm.mapOf(map);
  if (flags > 0xffffn) return BigInt(-Errno.EINVAL);
  const k = vm.read(key, m.spec.keySize);
  const v = vm.read(value, m.spec.valueSize);
  return BigInt(m.update(k, v, Number(flags), vm.cpu));
}

function mapDelete(vm: BpfVm, map: bigint, key: bigint): bigint {
  const m = vm.mapOf(map);
  return BigInt(m.delete(vm.read(key, m.spec.keySize)));
}

function lookupPercpu(vm: BpfVm, map: bigint, key: bigint, cpu: bigint): bigint {
  const m = vm.mapOf(map);
  if (!m.perCpu || cpu >= BigInt(m.nCpus)) return 0n;
  const e = m.entryOf(vm.read(key, m.spec.keySize), true);
  return e < 0 ? 0n : m.pointer(e, Number(cpu));
}

/** probe_read*: copies from registered kernel memory (or the VM's own regions); on failure zeroes dst. */
function probeRead(vm: BpfVm, dst: bigint, size: bigint, src: bigint): bigint {
  const n = u32(size);
  const out = vm.read(dst, n, true);
  const from = vm.readForeign(src, n);
  if (!from) {
    out.fill(0);
    return BigInt(-Errno.EFAULT);
  }
  out.set(from);
  return 0n;
}

function probeReadStr(vm: BpfVm, dst: bigint, size: bigint, src: bigint): bigint {
  const n = u32(size);
  if (n === 0) return 0n;
  const out = vm.read(dst, n, true);
  let i = 0;
  for (; i < n - 1; i++) {
    const b = vm.readForeign(src + BigInt(i), 1)?.[0];
    if (b === undefined) {
      out.fill(0);
      return BigInt(-Errno.EFAULT);
    }
    out[i] = b;
    if (b === 0) return BigInt(i + 1);
  }
  out[i] = 0;
  return BigInt(n);
}

/** A small printf for trace_printk: %d %i %u %x %X %p %s %c with l/ll/h modifiers, %%. */
function formatPrintk(vm: BpfVm, fmt: string, args: bigint[]): string {
  let k = 0;
  return fmt.replace(/%(-?\d*)(ll|l|h|hh)?([diuxXpsc%])/g, (_m, _w: string, len: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const raw = args[k++] ?? 0n;
    const bits = len === 'll' || len === 'l' || conv === 'p' ? 64 : 32;
    switch (conv) {
      case 'd': case 'i': return BigInt.asIntN(bits, raw).toString();
      case 'u': return BigInt.asUintN(bits, raw).toString();
      case 'x': return BigInt.asUintN(bits, raw).toString(16);
      case 'X': return BigInt.asUintN(bits, raw).toString(16).toUpperCase();
      case 'p': return `0x${raw.toString(16)}`;
      case 'c': return String.fromCharCode(Number(raw & 0xffn));
      default: {
        const bytes: number[] = [];
        for (let i = 0; i < 256; i++) {
          const b = vm.readForeign(raw + BigInt(i), 1)?.[0];
          if (b === undefined || b === 0) break;
          bytes.push(b);
        }
        return Buffer.from(bytes).toString('latin1');
      }
    }
  });
}

function tracePrintk(vm: BpfVm, fmt: bigint, size: bigint, a1: bigint, a2: bigint, a3: bigint): bigint {
  const raw = vm.read(fmt, u32(size));
  const end = raw.indexOf(0);
  if (end < 0) return BigInt(-Errno.EINVAL);
  const line = formatPrintk(vm, Buffer.from(raw.subarray(0, end)).toString('latin1'), [a1, a2, a3]);
  vm.printk.push(line);
  return BigInt(line.length);
}

function bpfLoop(vm: BpfVm, nr: bigint, fn: bigint, ctx: bigint, flags: bigint): bigint {
  if (flags !== 0n) return BigInt(-Errno.EINVAL);
  if (nr > BigInt(MAX_LOOPS)) return BigInt(-Errno.E2BIG);
  const callback = vm.subprogram(Number(fn - FUNC_HANDLE_BASE));
  const depth = vm.currentDepth + 1;
  const n = Number(nr);
  for (let i = 0; i < n; i++) {
    if (callback(BigInt(i), ctx, 0n, 0n, 0n, depth) !== 0n) return BigInt(i + 1);
  }
  return nr;
}

function ringbufOutput(vm: BpfVm, map: bigint, data: bigint, size: bigint, flags: bigint): bigint {
  const rb = vm.ringbufOf(map);
  return BigInt(rb.output(vm.read(data, u32(size)), flags));
}

/** A pointer into the ring buffer's region, or NULL. */
function ringbufReserve(vm: BpfVm, map: bigint, size: bigint, flags: bigint): bigint {
  const rb = vm.ringbufOf(map);
  const off = size > 0xffffffffn ? -1 : rb.reserve(Number(size), flags);
  return off < 0 ? 0n : regionBase(rb.regionId) + BigInt(off);
}

function ringbufCommit(vm: BpfVm, ptr: bigint, discard: boolean): bigint {
  const [rb, off] = vm.ringbufAt(ptr);
  if (!rb.commit(off, discard)) {
    throw new BpfFault('helper', vm.currentPc, `${where(vm.insns, vm.currentPc)}: 0x${ptr.toString(16)} is not a reserved, uncommitted ring buffer record`);
  }
  return 0n;
}

function perfEventOutput(vm: BpfVm, _ctx: bigint, map: bigint, flags: bigint, data: bigint, size: bigint): bigint {
  return BigInt(vm.perfbufOf(map).output(vm.cpu, flags, vm.read(data, u32(size))));
}

function comm(vm: BpfVm, buf: bigint, size: bigint): bigint {
  const out = vm.read(buf, u32(size), true);
  out.fill(0);
  const name = Buffer.from(vm.comm, 'latin1').subarray(0, Math.max(0, out.length - 1));
  out.set(name);
  return 0n;
}

/** Builtins by helper name (without "bpf_"). */
export const BUILTIN_HELPERS = {
  map_lookup_elem: mapLookup,
  map_update_elem: mapUpdate,
  map_delete_elem: mapDelete,
  map_lookup_percpu_elem: lookupPercpu,
  probe_read: probeRead,
  probe_read_kernel: probeRead,
  probe_read_user: probeRead,
  probe_read_str: probeReadStr,
  probe_read_kernel_str: probeReadStr,
  probe_read_user_str: probeReadStr,
  ktime_get_ns: (vm) => vm.clock(),
  ktime_get_boot_ns: (vm) => vm.clock(),
  ktime_get_coarse_ns: (vm) => vm.clock(),
  trace_printk: tracePrintk,
  get_prandom_u32: (vm) => BigInt(vm.random()),
  get_smp_processor_id: (vm) => BigInt(vm.cpu),
  get_numa_node_id: () => 0n,
  get_current_pid_tgid: (vm) => (BigInt(vm.tgid) << 32n) | BigInt(vm.pid),
  get_current_uid_gid: (vm) => (BigInt(vm.gid) << 32n) | BigInt(vm.uid),
  get_current_comm: comm,
  get_current_task: (vm) => vm.task,
  get_current_task_btf: (vm) => vm.task,
  loop: bpfLoop,
  ringbuf_output: ringbufOutput,
  ringbuf_reserve: ringbufReserve,
  ringbuf_submit: (vm, ptr) => ringbufCommit(vm, ptr, false),
  ringbuf_discard: (vm, ptr) => ringbufCommit(vm, ptr, true),
  ringbuf_query: (vm, map, flags) => vm.ringbufOf(map).query(flags),
  perf_event_output: perfEventOutput,
} satisfies Record<string, HelperFn>;

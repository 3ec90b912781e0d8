// Per-CPU perf buffers for BPF_MAP_TYPE_PERF_EVENT_ARRAY: one PERF_COUNT_SW_BPF_OUTPUT event per
// CPU (perf_event_open), its ring mmapped (a header page, then 2^n data pages), its fd stored in the
// map at that CPU's index. bpf_perf_event_output writes PERF_RECORD_SAMPLE records (u32 size + raw
// bytes) into the current CPU's ring; a full ring makes the kernel count PERF_RECORD_LOST instead.
import { MapType } from '../asm/opcodes.js';
import type { PerfBufferConsumer, PerfSample } from '../asm/events.js';
import { MappedMemory, pageSize } from './ffi.js';
import * as bpf from './bpf.js';
import { onlineCpus } from './cpus.js';
import { Epoll, pollBatches } from './epoll.js';
import type { BpfMap } from './map.js';

/** struct perf_event_mmap_page: data_head, data_tail, data_offset, data_size (u64 indices). */
const HEAD = 1024 / 8, TAIL = 1032 / 8;
const PERF_RECORD_LOST = 2, PERF_RECORD_SAMPLE = 9;

export interface PerfBufOptions {
  /** data pages per CPU, a power of two (default 8) */
  pagesPerCpu?: number;
  /** CPUs to open (default: the online ones) */
  cpus?: number[];
}

interface CpuRing {
  cpu: number;
  fd: number;
  mem: MappedMemory;
  meta: BigUint64Array;
  data: Uint8Array;
}

export class PerfBufReader implements PerfBufferConsumer {
  private closed = false;
  private lostCount = 0;
  private epoll: Epoll | null = null;
  private constructor(readonly map: BpfMap, private readonly rings: CpuRing[]) {}

  /** Opens a perf buffer on each CPU and stores its fd in `map` (a PERF_EVENT_ARRAY). The map stays the caller's. */
  static open(map: BpfMap, opts: PerfBufOptions = {}): PerfBufReader {
    if (map.spec.type !== MapType.PERF_EVENT_ARRAY) {
      throw new TypeError(`map "${map.name}" is not a perf event array (type ${map.spec.type}, want ${MapType.PERF_EVENT_ARRAY})`);
    }
    const pages = opts.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) throw new RangeError(`pagesPerCpu must be a power of two, got ${pages}`);
    const cpus = opts.cpus ?? onlineCpus();
    const tooHigh = cpus.find((c) => c >= map.spec.maxEntries);
    if (tooHigh !== undefined) throw new RangeError(`map "${map.name}" has ${map.spec.maxEntries} entries: no slot for CPU ${tooHigh} (make max_entries the possible CPU count)`);
    const page = pageSize();
    const rings: CpuRing[] = [];
    const reader = new PerfBufReader(map, rings);
    try {
      for (const cpu of cpus) {
        const fd = bpf.perfEventOpenBpfOutput(cpu);
        let mem: MappedMemory;
        try {
          mem = MappedMemory.map(fd, (1 + pages) * page, { write: true });
        } catch (e) {
          bpf.closeFd(fd);
          throw e;
        }
        rings.push({ cpu, fd, mem, meta: new BigUint64Array(mem.buf.buffer, mem.buf.byteOffset, page / 8), data: mem.buf.subarray(page, page + pages * page) });
        bpf.mapUpdateElem(map.fd, u32(cpu), u32(fd));
      }
    } catch (e) {
      reader.close();
      throw e;
    }
    return reader;
  }

  get lost(): number {
    return this.lostCount;
  }

  /** The CPUs with a buffer. */
  get cpus(): number[] {
    return this.rings.map((r) => r.cpu);
  }

  consume(): PerfSample[] {
    if (this.closed) throw new Error(`perf buffer reader of map "${this.map.name}" is closed`);
    const out: PerfSample[] = [];
    for (const r of this.rings) {
      const head = Number(Atomics.load(r.meta, HEAD));
      let tail = Number(r.meta[TAIL]);
      while (tail < head) {
        const hdr = wrapped(r.data, tail, 8);
        const type = hdr.readUInt32LE(0), len = hdr.readUInt16LE(6);
        if (len < 8) throw new RangeError(`perf buffer of CPU ${r.cpu}: record of ${len} bytes at ${tail}: the ring is corrupt`);
        if (type === PERF_RECORD_SAMPLE) {
          const rec = wrapped(r.data, tail, len);
          const raw = rec.readUInt32LE(8);
          out.push({ cpu: r.cpu, data: new Uint8Array(rec.subarray(12, 12 + raw)) });
        } else if (type === PERF_RECORD_LOST) {
          this.lostCount += Number(wrapped(r.data, tail, len).readBigUInt64LE(16));
        }
        tail += len;
      }
      Atomics.store(r.meta, TAIL, BigInt(tail));
    }
    return out;
  }

  /** Blocks up to `timeoutMs` until some CPU's buffer has data (epoll); true if one has. */
  wait(timeoutMs: number): boolean {
    if (this.closed) throw new Error(`perf buffer reader of map "${this.map.name}" is closed`);
    if (this.rings.some((r) => Atomics.load(r.meta, HEAD) !== r.meta[TAIL])) return true;
    this.epoll ??= Epoll.watch(this.rings.map((r) => r.fd), `perfbuf:${this.map.name}`);
    return this.epoll.wait(timeoutMs) > 0;
  }

  /** Samples as they arrive, polling every `intervalMs` (default 10) until `signal` aborts or close(). */
  records(opts: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<PerfSample> {
    return pollBatches(() => this.consume(), () => !this.closed, opts);
  }

  /** Removes the map entries, unmaps and closes every perf event and the epoll fd. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.epoll?.close();
    for (const r of this.rings) {
      try {
        bpf.mapDeleteElem(this.map.fd, u32(r.cpu));
      } catch {
        // the map may be closed already: its entries went with it
      }
      r.mem.unmap();
      bpf.closeFd(r.fd);
    }
    this.rings.length = 0;
  }
}

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};

/** `len` bytes at ring position `pos` (mod the ring size), copied across the end when they wrap. */
function wrapped(data: Uint8Array, pos: number, len: number): Buffer {
  const at = pos % data.length;
  if (at + len <= data.length) return Buffer.from(data.buffer, data.byteOffset + at, len);
  return Buffer.concat([data.subarray(at), data.subarray(0, len - (data.length - at))]);
}

// The engine's ring buffer and perf buffer maps, with the consumer interfaces of the loader's readers
// (src/asm/events.ts), so a program that streams events can be tested without a kernel.
//
// Ring buffer: the data area lives in the map's region of wasm memory, twice its size, as the kernel
// maps it twice in a row: a record that wraps past the end is written contiguously into the second
// half and read from there, so reserve can hand the program a pointer it writes its record through.
// Records have the kernel's 8-byte header (length | busy | discard bits); reserve fails (NULL) under
// the kernel's rule (more than size - 1 bytes outstanding), a record not yet submitted stops the
// consumer. Perf buffer: per-CPU queues of samples padded as the kernel pads them; an optional
// per-CPU capacity counts the samples a full buffer would lose.
import {
  RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ, drainRingbuf, perfRawBytes, ringbufRecordBytes,
  type PerfBufferConsumer, type PerfSample, type RingBufferConsumer,
} from '../asm/events.js';
import type { MapSpec } from '../asm/spec.js';
import { Errno } from './maps.js';

/** Ring buffer map sizes the kernel accepts: a power of two, a multiple of the page size. */
export function checkRingbufSpec(spec: MapSpec): void {
  const n = spec.maxEntries;
  if (!Number.isInteger(n) || n < 4096 || (n & (n - 1)) !== 0 || n > 2 ** 30) {
    throw new RangeError(`ring buffer "${spec.name}": size ${n} must be a power of two of at least 4096 bytes (one page)`);
  }
}

export class VmRingBuf implements RingBufferConsumer {
  /** consumer and producer positions (bytes since creation) */
  cons = 0;
  prod = 0;
  readonly size: number;

  constructor(readonly spec: MapSpec, readonly regionId: number, readonly wasmBase: number, private readonly memory: () => Uint8Array) {
    this.size = spec.maxEntries;
  }

  private views(): [Uint8Array, Int32Array] {
    const mem = this.memory();
    const data = mem.subarray(this.wasmBase, this.wasmBase + 2 * this.size);
    return [data, new Int32Array(mem.buffer, mem.byteOffset + this.wasmBase, (2 * this.size) >> 2)];
  }

  /** bpf_ringbuf_reserve: offset of the record's data in the region, or -1 (NULL). */
  reserve(len: number, flags: bigint): number {
    if (flags !== 0n || len > 0x3fffffff) return -1;
    const bytes = ringbufRecordBytes(len);
    if (bytes > this.size || this.prod + bytes - this.cons > this.size - 1) return -1;
    const at = this.prod % this.size;
    const [, words] = this.views();
    words[at >> 2] = (len | RINGBUF_BUSY_BIT) | 0;
    words[(at >> 2) + 1] = 0;
    this.prod += bytes;
    return at + RINGBUF_HDR_SZ;
  }

  /** bpf_ringbuf_submit / discard of the record whose data is at region offset `off`; false if none is pending there. */
  commit(off: number, discard: boolean): boolean {
    const [, words] = this.views();
    if (off < RINGBUF_HDR_SZ || off % 8 !== 0 || off >= this.size + RINGBUF_HDR_SZ) return false;
    const h = (off - RINGBUF_HDR_SZ) >> 2, w = words[h];
    if (w === undefined || !(w & RINGBUF_BUSY_BIT)) return false;
    words[h] = (w & ~RINGBUF_BUSY_BIT) | (discard ? RINGBUF_DISCARD_BIT : 0);
    return true;
  }

  /** bpf_ringbuf_output: 0, -EINVAL for unknown flags, -EAGAIN when full. */
  output(bytes: Uint8Array, flags: bigint): number {
    if (flags & ~3n) return -Errno.EINVAL;
    const off = this.reserve(bytes.length, 0n);
    if (off < 0) return -Errno.EAGAIN;
    const [data] = this.views();
    data.set(bytes, off);
    this.commit(off, false);
    return 0;
  }

  /** bpf_ringbuf_query: BPF_RB_AVAIL_DATA 0, BPF_RB_RING_SIZE 1, BPF_RB_CONS_POS 2, BPF_RB_PROD_POS 3. */
  query(flags: bigint): bigint {
    switch (flags) {
      case 0n: return BigInt(this.prod - this.cons);
      case 1n: return BigInt(this.size);
      case 2n: return BigInt(this.cons);
      case 3n: return BigInt(this.prod);
      default: return 0n;
    }
  }

  consume(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const [data, words] = this.views();
    this.cons = drainRingbuf(data, words, this.size, this.cons, this.prod, out);
    return out;
  }

  available(): number {
    return this.prod - this.cons;
  }
}

const PERF_RECORD_HDR = 8;
/** BPF_F_INDEX_MASK / BPF_F_CURRENT_CPU / BPF_F_CTXLEN_MASK */
const INDEX_MASK = 0xffffffffn, CURRENT_CPU = 0xffffffffn, CTXLEN_MASK = 0xfffffn << 32n;

/** A PERF_RECORD_LOST record: header, id, count. */
const PERF_LOST_RECORD = 24;

type PerfEntry = PerfSample | { lost: number };

export class VmPerfBuf implements PerfBufferConsumer {
  private readonly queues: PerfEntry[][];
  private readonly used: number[];
  /** samples lost since the last LOST record, per CPU */
  private readonly pendingLost: number[];
  private lostCount = 0;
  /**
   * Bytes per CPU buffer, or Infinity (default). As in the kernel's ring of that many data bytes, a
   * sample that does not fit is lost (the helper returns -ENOSPC); the next one that fits, together
   * with a 24-byte LOST record, reports the count, which `lost` adds up as consume() reads it.
   */
  capacity = Infinity;

  constructor(readonly spec: MapSpec, readonly nCpus: number) {
    this.queues = Array.from({ length: nCpus }, () => []);
    this.used = new Array<number>(nCpus).fill(0);
    this.pendingLost = new Array<number>(nCpus).fill(0);
  }

  /** bpf_perf_event_output from CPU `cpu`. */
  output(cpu: number, flags: bigint, bytes: Uint8Array): number {
    if (flags & ~(INDEX_MASK | CTXLEN_MASK)) return -Errno.EINVAL;
    if (flags & CTXLEN_MASK) return -Errno.EINVAL; // appending context bytes (skb, xdp) is not modelled
    const index = (flags & INDEX_MASK) === CURRENT_CPU ? cpu : Number(flags & INDEX_MASK);
    if (index >= this.spec.maxEntries) return -Errno.E2BIG;
    if (index !== cpu) return -Errno.EOPNOTSUPP; // the event at that index belongs to another CPU
    const raw = perfRawBytes(bytes.length);
    const record = PERF_RECORD_HDR + 4 + raw;
    const lost = this.pendingLost[cpu]!;
    const need = record + (lost ? PERF_LOST_RECORD : 0);
    // the kernel's ring keeps one byte free (CIRC_SPACE)
    if (this.used[cpu]! + need > this.capacity - 1) {
      this.pendingLost[cpu]!++;
      return -Errno.ENOSPC;
    }
    const q = this.queues[cpu]!;
    if (lost) {
      q.push({ lost });
      this.pendingLost[cpu] = 0;
    }
    const data = new Uint8Array(raw);
    data.set(bytes);
    q.push({ cpu, data });
    this.used[cpu]! += need;
    return 0;
  }

  consume(): PerfSample[] {
    const out: PerfSample[] = [];
    for (const q of this.queues) {
      for (const e of q.splice(0)) {
        if ('lost' in e) this.lostCount += e.lost;
        else out.push(e);
      }
    }
    this.used.fill(0);
    return out;
  }

  get lost(): number {
    return this.lostCount;
  }
}

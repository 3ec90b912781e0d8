// A consumer of the kernel's BPF_MAP_TYPE_RINGBUF through mmap: the consumer page (read-write: we
// advance consumer_pos), then the producer page and the data area mapped twice in a row (read-only),
// so a record that wraps around the end is contiguous. Records have an 8-byte header (length with the
// busy and discard bits, page offset); reading stops at a busy one and skips discarded ones.
import { MapType } from '../asm/opcodes.js';
import { drainRingbuf, type RingBufferConsumer } from '../asm/events.js';
import { MappedMemory, pageSize } from './ffi.js';
import { Epoll, pollBatches } from './epoll.js';
import type { BpfMap } from './map.js';

export class RingBufReader implements RingBufferConsumer {
  private closed = false;
  private epoll: Epoll | null = null;
  private readonly consPos: BigUint64Array;
  private readonly prodPos: BigUint64Array;
  private readonly data: Uint8Array;
  private readonly words: Int32Array;

  private constructor(readonly map: BpfMap, private readonly consPage: MappedMemory, private readonly prodPages: MappedMemory, readonly size: number) {
    const page = consPage.size;
    this.consPos = new BigUint64Array(consPage.buf.buffer, consPage.buf.byteOffset, 1);
    this.prodPos = new BigUint64Array(prodPages.buf.buffer, prodPages.buf.byteOffset, 1);
    this.data = new Uint8Array(prodPages.buf.buffer, prodPages.buf.byteOffset + page, 2 * size);
    this.words = new Int32Array(this.data.buffer, this.data.byteOffset, this.data.length >> 2);
  }

  /** Maps `map` (a BPF_MAP_TYPE_RINGBUF) for reading. The map stays the caller's; close() releases the mappings. */
  static open(map: BpfMap): RingBufReader {
    if (map.spec.type !== MapType.RINGBUF) throw new TypeError(`map "${map.name}" is not a ring buffer (type ${map.spec.type}, want ${MapType.RINGBUF})`);
    const page = pageSize();
    const size = map.spec.maxEntries;
    const cons = MappedMemory.map(map.fd, page, { write: true });
    let prod: MappedMemory;
    try {
      prod = MappedMemory.map(map.fd, page + 2 * size, { offset: page });
    } catch (e) {
      cons.unmap();
      throw e;
    }
    return new RingBufReader(map, cons, prod, size);
  }

  private check(): void {
    if (this.closed) throw new Error(`ring buffer reader of map "${this.map.name}" is closed`);
  }

  consume(): Uint8Array[] {
    this.check();
    const out: Uint8Array[] = [];
    const cons = Number(Atomics.load(this.consPos, 0));
    const prod = Number(Atomics.load(this.prodPos, 0));
    const next = drainRingbuf(this.data, this.words, this.size, cons, prod, out);
    if (next !== cons) Atomics.store(this.consPos, 0, BigInt(next));
    return out;
  }

  available(): number {
    this.check();
    return Number(Atomics.load(this.prodPos, 0) - Atomics.load(this.consPos, 0));
  }

  /** Blocks up to `timeoutMs` until the kernel says the ring has data (epoll); true if it has. */
  wait(timeoutMs: number): boolean {
    this.check();
    if (this.available() > 0) return true;
    this.epoll ??= Epoll.watch([this.map.fd], `ringbuf:${this.map.name}`);
    return this.epoll.wait(timeoutMs) > 0;
  }

  /** Records as they arrive, polling every `intervalMs` (default 10) until `signal` aborts or close(). */
  records(opts: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    return pollBatches(() => this.consume(), () => !this.closed, opts);
  }

  /** Unmaps and closes the epoll fd (the map itself is not closed). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.epoll?.close();
    this.prodPages.unmap();
    this.consPage.unmap();
  }
}

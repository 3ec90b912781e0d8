// What a program streams to user space, as both consumers deliver it: the loader's readers of the
// kernel's BPF_MAP_TYPE_RINGBUF and BPF_MAP_TYPE_PERF_EVENT_ARRAY (src/loader/ringbuf.ts, perfbuf.ts)
// and the engine's models of the same maps (src/vm/events.ts). Code written against these interfaces
// tests a program in the engine and runs it against the kernel unchanged.

/** One record of bpf_perf_event_output, with the CPU whose buffer it came through. */
export interface PerfSample {
  cpu: number;
  /**
   * The raw sample as the kernel delivers it: the output bytes, then padding so that 4 + length is a
   * multiple of 8. The padding is unspecified (the kernel leaves stale ring bytes; the engine zeros).
   */
  data: Uint8Array;
}

export interface RingBufferConsumer {
  /** Every committed record in order (discarded ones skipped), as copies; stops at one still being written. */
  consume(): Uint8Array[];
  /** Bytes between the consumer and the producer position (records, headers, padding). */
  available(): number;
}

export interface PerfBufferConsumer {
  /** Every sample waiting, per CPU in order (CPU 0's first). */
  consume(): PerfSample[];
  /** Samples the kernel reported lost (the buffer was full), so far. */
  readonly lost: number;
}

/** Ring buffer record header bits (the first u32 of the 8-byte header). */
export const RINGBUF_BUSY_BIT = 1 << 31;
export const RINGBUF_DISCARD_BIT = 1 << 30;
export const RINGBUF_HDR_SZ = 8;

/** The bytes one ring buffer record takes: header and data, rounded up to 8. */
export const ringbufRecordBytes = (len: number): number => (len + RINGBUF_HDR_SZ + 7) & ~7;

/** The raw size of a perf sample of `len` output bytes (the kernel pads u32 size + data to 8). */
export const perfRawBytes = (len: number): number => ((len + 4 + 7) & ~7) - 4;

/**
 * Reads committed records from a ring buffer's data area, from consumer position `cons` up to
 * producer position `prod`, into `out`; returns the new consumer position. `data` is the data area
 * mapped twice in a row (2 × size bytes, as the kernel maps it), so a record that wraps is contiguous;
 * `words` views the same bytes as i32 for the atomic header loads. Stops at a record still being
 * written (busy bit); skips discarded ones.
 */
export function drainRingbuf(data: Uint8Array, words: Int32Array, size: number, cons: number, prod: number, out: Uint8Array[]): number {
  while (cons < prod) {
    const at = cons % size;
    const hdr = Atomics.load(words, at >> 2);
    if (hdr & RINGBUF_BUSY_BIT) break;
    const len = hdr & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
    const bytes = ringbufRecordBytes(len);
    if (bytes > size) throw new RangeError(`ring buffer record of ${len} bytes at position ${cons} does not fit the ${size}-byte ring: the ring is corrupt`);
    if (!(hdr & RINGBUF_DISCARD_BIT)) out.push(new Uint8Array(data.subarray(at + RINGBUF_HDR_SZ, at + RINGBUF_HDR_SZ + len))); // a copy
    cons += bytes;
  }
  return cons;
}

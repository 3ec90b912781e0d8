// Programs that stream events (shared by the reader tests and docs examples): raw_tracepoint programs
// whose context is [seq, mode], writing records derived from seq into a ring buffer or a perf buffer.
import {
  ProgType, MapType, program, exit, label, ldMapFd, mov64, mov32, add64, mul64, mod64, xor64, ldx, stx, call, jeq, jset,
  R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, type MapSpec, type ProgramSpec,
} from '../../src/asm/index.js';

export const RING: MapSpec = { name: 'events', type: MapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 };

/**
 * mode 0: reserve 16 bytes [seq, seq * 0x9e3779b1], submit, r0 = 0; mode 1: the same, discarded, r0 = 2;
 * a failed reserve: r0 = 1. mode 2: ringbuf_output of the first 11 (odd seq) or 13 (even seq) bytes of
 * [seq, seq ^ 0x5555], r0 = its result.
 */
export function ringProgram(ring: MapSpec = RING): ProgramSpec {
  return program({
    name: 'dp_ring', type: ProgType.RAW_TRACEPOINT, maps: [ring], items: [
      ldx.dw(R6, R1, 0), ldx.dw(R7, R1, 8),
      jeq.imm(R7, 2, 'output'),
      ldMapFd(R1, ring.name), mov64.imm(R2, 16), mov64.imm(R3, 0), call('ringbuf_reserve'),
      jeq.imm(R0, 0, 'full'),
      stx.dw(R0, 0, R6), mov64.reg(R8, R6), mul64.imm(R8, 0x1e3779b1), stx.dw(R0, 8, R8),
      mov64.reg(R1, R0), mov64.imm(R2, 0),
      jeq.imm(R7, 1, 'discard'),
      call('ringbuf_submit'), mov64.imm(R0, 0), exit(),
      label('discard'), call('ringbuf_discard'), mov64.imm(R0, 2), exit(),
      label('full'), mov64.imm(R0, 1), exit(),
      label('output'),
      stx.dw(R10, -16, R6), mov64.reg(R8, R6), xor64.imm(R8, 0x5555), stx.dw(R10, -8, R8),
      ldMapFd(R1, ring.name), mov64.reg(R2, R10), add64.imm(R2, -16), mov64.imm(R4, 0),
      jset.imm(R6, 1, 'odd'),
      mov64.imm(R3, 13), call('ringbuf_output'), exit(),
      label('odd'), mov64.imm(R3, 11), call('ringbuf_output'), exit(),
    ],
  });
}

/** perf_event_output(ctx, perf, BPF_F_CURRENT_CPU, [seq, seq * 3], 4 (seq % 3 == 0), 9 or 16 bytes); r0 = its result. */
export function perfProgram(perf: MapSpec): ProgramSpec {
  return program({
    name: 'dp_perf', type: ProgType.RAW_TRACEPOINT, maps: [perf], items: [
      mov64.reg(R9, R1), ldx.dw(R6, R1, 0),
      stx.dw(R10, -16, R6), mov64.reg(R7, R6), mul64.imm(R7, 3), stx.dw(R10, -8, R7),
      mov64.reg(R4, R10), add64.imm(R4, -16),
      mov32.imm(R3, -1), ldMapFd(R2, perf.name), mov64.reg(R1, R9),
      mov64.reg(R8, R6), mod64.imm(R8, 3),
      jeq.imm(R8, 1, 'nine'), jeq.imm(R8, 2, 'sixteen'),
      mov64.imm(R5, 4), call('perf_event_output'), exit(),
      label('nine'), mov64.imm(R5, 9), call('perf_event_output'), exit(),
      label('sixteen'), mov64.imm(R5, 16), call('perf_event_output'), exit(),
    ],
  });
}

/** ctx bytes for [seq, mode] */
export function ctxOf(seq: number, mode: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(seq), 0);
  b.writeBigUInt64LE(BigInt(mode), 8);
  return b;
}

// The memory model shared by the compiler (which emits address translation) and the runtime
// (which lays out regions and fills the region table).
//
// A BPF pointer is a fake 64-bit address: the high 32 bits name a region, the low 32 bits are the
// offset inside it. Wasm address 0 holds the region table, one 16-byte entry per region id:
//   +0 wasm address of the region's first byte   +4 region size in bytes
//   +8 slot mask (offset & mask = offset inside one slot)   +12 slot limit (valid bytes per slot)
// An access of `width` bytes at offset `lo` in region `hi` is allowed when hi < MAX_REGIONS,
// lo < size and (lo & mask) + width <= limit. Plain regions use mask 0xffffffff, limit = size;
// map regions use power-of-two slots so that an access cannot run from one value into the next.
import { STACK_SIZE } from '../asm/opcodes.js';

export const MAX_REGIONS = 256;
export const REGION_ENTRY = 16;
export const REGION_TABLE_BYTES = MAX_REGIONS * REGION_ENTRY;

/** Region ids; maps take ids from MAP_REGION0 upwards, one per map. */
export const Region = { NULL: 0, STACK: 1, CTX: 2, DATA: 3, MAP0: 4 } as const;

/** Call frames the kernel allows (MAX_CALL_FRAMES); each gets its own 512-byte frame. */
export const MAX_FRAMES = 8;
export const FRAME_SIZE = STACK_SIZE;
/** Wasm address of frame 0 (the entry program's frame); frame d is FRAME_SIZE * d above it. */
export const STACK_WASM = REGION_TABLE_BYTES;
export const STACK_BYTES = MAX_FRAMES * FRAME_SIZE;

/**
 * Register save area of split subprograms (compile's split layout): one SAVE_FRAME per call depth,
 * r0..r9 at 8·r and the may_goto count at +80. It lies outside every region, so BPF cannot reach it.
 */
export const SAVE_WASM = STACK_WASM + STACK_BYTES;
export const SAVE_FRAME = 96;
/** First wasm address the runtime lays regions out from. */
export const LAYOUT_END = SAVE_WASM + MAX_FRAMES * SAVE_FRAME;

export const regionBase = (id: number): bigint => BigInt(id) << 32n;
export const STACK_FAKE = regionBase(Region.STACK);

/** ld_imm64 map-fd pseudo values become handles in a region id no table entry covers (deref faults). */
export const MAP_HANDLE_BASE = 0x4d41n << 32n;
/** ld_imm64 function pseudo values (callbacks) are handles carrying the subprogram's first slot. */
export const FUNC_HANDLE_BASE = 0x4655n << 32n;

/** Fault kinds passed from wasm to the runtime's fault import. */
export const Fault = {
  /** access outside any region (or across a region's or slot's end) */
  ACCESS: 1,
  /** r10-relative access outside the current 512-byte frame */
  FRAME: 2,
  /** instruction budget exhausted (a runaway loop) */
  BUDGET: 3,
  /** bpf-to-bpf call deeper than MAX_FRAMES */
  DEPTH: 4,
  /** a helper's pointer argument outside any region (inlined helpers; same message as the import) */
  HELPER_ACCESS: 5,
} as const;

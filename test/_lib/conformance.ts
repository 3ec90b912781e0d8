// Reader for the BPF conformance suite's .data files (vendored in test/_lib/conformance/, see its
// README): sections "-- asm", "-- raw", "-- mem", "-- result", "-- error"; "#" starts a comment.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './workloads.js';

export interface ConformanceCase {
  file: string;
  /** assembly text (uBPF syntax), when the program is given as "-- asm" */
  asm?: string;
  /** program bytes, when given as "-- raw" */
  raw?: Buffer;
  /** input memory: r1 = pointer, r2 = length */
  mem?: Buffer;
  /** expected r0 */
  result?: bigint;
  /** present when the runtime must refuse the program (the suite gives no or an assembler message) */
  error?: string;
}

export const CONFORMANCE_DIR = join(ROOT, 'test/_lib/conformance');

export function parseConformance(file: string, text: string): ConformanceCase {
  const out: ConformanceCase = { file };
  const asm: string[] = [];
  const hex = { raw: '', mem: '' };
  let section = '';
  for (let line of text.split('\n')) {
    line = line.replace(/\r$/, '').replace(/#.*$/, '');
    const dir = /^--\s*(.*)$/.exec(line.trim());
    if (dir) {
      section = dir[1]!.trim();
      if (section === 'error') out.error = '';
      continue;
    }
    if (line.trim() === '') continue;
    if (section === 'asm') asm.push(line);
    else if (section === 'raw' || section === 'mem') hex[section] += ` ${line}`;
    else if (section === 'result') out.result = BigInt(line.trim());
    else if (section === 'error') out.error = line.trim();
  }
  if (asm.length) out.asm = asm.join('\n');
  if (hex.raw.trim()) out.raw = rawBytes(hex.raw);
  if (hex.mem.trim()) out.mem = Buffer.from(hex.mem.replace(/\s+/g, ''), 'hex');
  return out;
}

/**
 * "-- raw" comes in two forms: one u64 per slot ("0x5566778800000018", as the suite's own reader
 * takes it, stored little-endian) or the slot's 8 bytes as two-digit hex ("18 00 00 00 ...").
 */
function rawBytes(text: string): Buffer {
  const tokens = text.trim().split(/\s+/);
  if (tokens.every((t) => /^[0-9a-f]{2}$/i.test(t))) return Buffer.from(tokens.join(''), 'hex');
  const out = Buffer.alloc(tokens.length * 8);
  tokens.forEach((t, i) => out.writeBigUInt64LE(BigInt(t), i * 8));
  return out;
}

/** Every case of one directory ("tests" or "negative"), sorted by file name. */
export function conformanceCases(dir: 'tests' | 'negative'): ConformanceCase[] {
  const at = join(CONFORMANCE_DIR, dir);
  return readdirSync(at).filter((f) => f.endsWith('.data')).sort()
    .map((f) => parseConformance(`${dir}/${f}`, readFileSync(join(at, f), 'utf8')));
}

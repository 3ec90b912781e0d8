// The BTF reader against this kernel's /sys/kernel/btf/vmlinux, cross-checked with bpftool when present.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { kernelTest } from './_lib/privilege.js';
import { Btf, BtfError, BtfKind } from '../src/btf/index.js';

const t = suite('loader btf');
const VMLINUX = '/sys/kernel/btf/vmlinux';
const noBtf = () => (existsSync(VMLINUX) ? null : `${VMLINUX} missing (kernel without CONFIG_DEBUG_INFO_BTF)`);

interface TextMember { name: string; type: number; bits: number; bitfield: number }
let dump: Map<number, { kind: string; name: string; members: TextMember[] }> | null | undefined;

/** bpftool's raw dump parsed as text: an independent reading to check ours against (null: no bpftool). */
function bpftoolTypes(): typeof dump {
  if (dump !== undefined) return dump;
  let raw: string;
  try {
    raw = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  } catch {
    return (dump = null);
  }
  dump = new Map();
  let cur: TextMember[] | null = null;
  for (const line of raw.split('\n')) {
    const head = /^\[(\d+)\] (\w+) '([^']*)'/.exec(line);
    if (head) {
      cur = [];
      dump.set(Number(head[1]), { kind: head[2]!, name: head[3]!, members: cur });
      continue;
    }
    const m = /^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?/.exec(line);
    if (m && cur) cur.push({ name: m[1]!, type: Number(m[2]), bits: Number(m[3]), bitfield: Number(m[4] ?? 0) });
  }
  return dump;
}

/** Bit offset and bitfield size of struct.member per bpftool, descending into '(anon)' members. */
function bpftoolMember(struct: string, member: string): { bits: number; bitfield: number } | null {
  const types = bpftoolTypes();
  if (!types) return null;
  const find = (id: number, base: number): { bits: number; bitfield: number } | null => {
    for (const m of types.get(id)?.members ?? []) {
      if (m.name === member) return { bits: base + m.bits, bitfield: m.bitfield };
    }
    for (const m of types.get(id)?.members ?? []) {
      if (m.name !== '(anon)') continue;
      const hit = find(m.type, base + m.bits);
      if (hit) return hit;
    }
    return null;
  };
  for (const [id, ty] of types) if (ty.kind === 'STRUCT' && ty.name === struct && ty.members.length) return find(id, 0);
  return null;
}

kernelTest(t, 'task_struct pid/tgid/real_parent and signal_struct offsets are found and plausible (the time is printed; bench/ measures it)', () => {
  const t0 = performance.now();
  const btf = Btf.load();
  const pid = btf.memberOffset('task_struct', 'pid');
  const tgid = btf.memberOffset('task_struct', 'tgid');
  const parent = btf.memberOffset('task_struct', 'real_parent');
  const signal = btf.memberOffset('task_struct', 'signal');
  const ms = performance.now() - t0;
  console.log(`  BTF: ${btf.typeCount} types; load + 4 lookups in ${ms.toFixed(1)} ms`);
  const size = btf.structSize('task_struct');
  for (const off of [pid, tgid, parent, signal]) assert.ok(off > 0 && off < size, `offset ${off} inside task_struct (${size} bytes)`);
  assert.is(btf.member('task_struct', 'pid').size, 4, 'pid_t is 4 bytes');
  assert.is(btf.member('task_struct', 'real_parent').size, 8, 'a pointer');
  assert.ok(tgid >= pid + 4, 'tgid follows pid');
  assert.ok(btf.structSize('signal_struct') > 0);
}, noBtf);

const CROSS_CHECKED: Array<[string, string]> = [
  ['task_struct', 'pid'], ['task_struct', 'tgid'], ['task_struct', 'real_parent'], ['task_struct', 'signal'],
  // inside anonymous unions/structs: offsets accumulate through them
  ['sk_buff', 'tstamp'], ['sk_buff', 'dev'],
  // a bitfield (kind_flag struct): bit offset and width
  ['sk_buff', 'pkt_type'],
];

kernelTest(t, 'offsets agree with bpftool, through anonymous members and bitfields', () => {
  const btf = Btf.vmlinux();
  if (bpftoolTypes() === null) {
    console.log('  [note] bpftool not installed: checking internal consistency only');
    assert.is(btf.member('task_struct', 'tgid').bitOffset, btf.memberOffset('task_struct', 'tgid') * 8);
    return;
  }
  for (const [struct, member] of CROSS_CHECKED) {
    const ours = btf.member(struct, member);
    const theirs = bpftoolMember(struct, member);
    assert.ok(theirs, `bpftool knows ${struct}.${member}`);
    assert.equal([ours.bitOffset, ours.bitfieldSize], [theirs.bits, theirs.bitfield], `${struct}.${member}`);
  }
  assert.ok(btf.member('sk_buff', 'pkt_type').bitfieldSize > 0, 'pkt_type is a bitfield on this kernel');
}, noBtf);

kernelTest(t, 'misuse is named: unknown struct or member, bitfield without a byte offset', () => {
  const btf = Btf.vmlinux();
  assert.ok(btf.findType('sk_buff', [BtfKind.STRUCT]) > 0);
  assert.throws(() => btf.memberOffset('task_struct', 'no_such_member'), /struct task_struct has no member "no_such_member"/);
  assert.throws(() => btf.memberOffset('no_such_struct', 'x'), /no struct or union named "no_such_struct"/);
  const pkt = btf.member('sk_buff', 'pkt_type');
  if (pkt.bitOffset % 8 !== 0) assert.throws(() => btf.memberOffset('sk_buff', 'pkt_type'), /is a bitfield at bit/);
  else assert.is(btf.memberOffset('sk_buff', 'pkt_type'), pkt.bitOffset / 8);
}, noBtf);

kernelTest(t, 'raw tracepoint argument counts come from btf_trace_<name>', () => {
  const btf = Btf.vmlinux();
  assert.is(btf.rawTracepointArgCount('sys_enter'), 2, 'struct pt_regs *regs, long id');
  assert.is(btf.rawTracepointArgCount('sys_exit'), 2);
  assert.is(btf.rawTracepointArgCount('sched_process_fork'), 2, 'parent, child');
  assert.throws(() => btf.rawTracepointArgCount('no_such_tp'), /btf_trace_no_such_tp/);
}, noBtf);

t('non-BTF data is refused with a clear message', () => {
  assert.throws(() => new Btf(Buffer.alloc(64)), /not BTF data \(bad magic\)/);
});

t('bad BTF: short, a header past the end, a type cut off, an unknown kind → BtfError naming it', () => {
  const good = Btf.vmlinux().data;
  assert.throws(() => new Btf(good.subarray(0, 10)), (e: unknown) => e instanceof BtfError && /shorter than its 24-byte header/.test((e as Error).message));
  const hdr = Buffer.from(good.subarray(0, 4096)); // types and strings now point past the end
  assert.throws(() => new Btf(hdr), (e: unknown) => e instanceof BtfError && /points past the end/.test((e as Error).message));
  // A tiny BTF: header + one INT type + strings; then corrupt it.
  const tiny = Buffer.alloc(24 + 16 + 5);
  tiny.writeUInt16LE(0xeb9f, 0); tiny[2] = 1; tiny.writeUInt32LE(24, 4);
  tiny.writeUInt32LE(0, 8); tiny.writeUInt32LE(16, 12); tiny.writeUInt32LE(16, 16); tiny.writeUInt32LE(5, 20);
  tiny.writeUInt32LE(1, 24); tiny.writeUInt32LE(1 << 24, 28); tiny.writeUInt32LE(4, 32); tiny.writeUInt32LE(32, 36);
  tiny.write('\0int\0', 40, 'latin1');
  const b = new Btf(tiny);
  assert.is(b.typeCount, 1);
  assert.is(b.name(1), 'int');
  assert.is(b.intInfo(1).bits, 32);
  const cut = Buffer.from(tiny); cut.writeUInt32LE(12, 12); // type section ends inside the INT's extra word
  assert.throws(() => new Btf(cut), /extends past the end of the type section/);
  const kind = Buffer.from(tiny); kind.writeUInt32LE(31 << 24, 28);
  assert.throws(() => new Btf(kind), /unknown kind 31/);
  const big = Buffer.from(tiny); big.writeUInt32LE((4 << 24) | 0xffff, 28); // a struct of 65535 members in 16 bytes
  assert.throws(() => new Btf(big), /extends past the end of the type section/);
  // Big-endian BTF reads the same.
  const be = Buffer.alloc(tiny.length);
  be.writeUInt16BE(0xeb9f, 0); be[2] = 1; be.writeUInt32BE(24, 4); be.writeUInt32BE(0, 8); be.writeUInt32BE(16, 12); be.writeUInt32BE(16, 16); be.writeUInt32BE(5, 20);
  be.writeUInt32BE(1, 24); be.writeUInt32BE(1 << 24, 28); be.writeUInt32BE(4, 32); be.writeUInt32BE(32, 36); be.write('\0int\0', 40, 'latin1');
  const bb = new Btf(be);
  assert.ok(!bb.littleEndian);
  assert.equal([bb.name(1), bb.sizeOf(1), bb.intInfo(1).bits], ['int', 4, 32]);
});

t.run();

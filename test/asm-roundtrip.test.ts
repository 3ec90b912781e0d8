// Every encoding the ISA defines, enumerated from the opcode tables with the ISA's own rules, goes
// bytes -> decode -> disassemble -> parseAsm -> assemble -> bytes unchanged; every other opcode byte
// disassembles as "unknown" (and still round-trips bit for bit through that form).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as A from '../src/asm/index.js';
import type { RawInsn } from '../src/asm/index.js';

const { Class, AluOp, JmpOp, Source, Size, Mode, AtomicOp, Pseudo } = A;

interface Case {
  name: string;
  slots: RawInsn[];
}

const slot = (code: number, dst = 0, src = 0, off = 0, imm = 0): RawInsn => ({ code, dst, src, off, imm });
const sizes = Object.entries(Size) as Array<[string, number]>;

/** The ISA's valid encodings (instruction-set.rst plus the Linux 6.x extensions), with canonical fields. */
function isaCases(): Case[] {
  const out: Case[] = [];
  const add = (name: string, ...slots: RawInsn[]): void => {
    out.push({ name, slots });
  };
  for (const cls of [Class.ALU, Class.ALU64]) {
    const c = cls === Class.ALU ? 'alu32' : 'alu64';
    for (const [name, op] of Object.entries(AluOp)) {
      if (op === AluOp.NEG) {
        add(`${c} neg`, slot(cls | op | Source.K, 3));
      } else if (op === AluOp.END) {
        for (const imm of [16, 32, 64]) {
          if (cls === Class.ALU) {
            add(`le${imm}`, slot(cls | op | Source.K, 4, 0, 0, imm));
            add(`be${imm}`, slot(cls | op | Source.X, 4, 0, 0, imm));
          } else {
            add(`bswap${imm}`, slot(cls | op | Source.K, 4, 0, 0, imm));
          }
        }
      } else {
        add(`${c} ${name} K`, slot(cls | op | Source.K, 1, 0, 0, -7));
        add(`${c} ${name} K max`, slot(cls | op | Source.K, 9, 0, 0, 0x7fffffff));
        add(`${c} ${name} X`, slot(cls | op | Source.X, 1, 2));
        if (op === AluOp.DIV || op === AluOp.MOD) {
          add(`${c} s${name} K`, slot(cls | op | Source.K, 1, 0, 1, 3));
          add(`${c} s${name} X`, slot(cls | op | Source.X, 1, 2, 1));
        }
        if (op === AluOp.MOV) {
          for (const off of cls === Class.ALU64 ? [8, 16, 32] : [8, 16]) add(`${c} movsx${off}`, slot(cls | op | Source.X, 5, 6, off));
          if (cls === Class.ALU64) {
            add('addr_space_cast to 1', slot(cls | op | Source.X, 1, 2, 1, 0x10000));
            add('addr_space_cast from 1', slot(cls | op | Source.X, 1, 2, 1, 1));
          }
        }
      }
    }
  }
  for (const cls of [Class.JMP, Class.JMP32]) {
    const c = cls === Class.JMP ? 'jmp' : 'jmp32';
    for (const [name, op] of Object.entries(JmpOp)) {
      if (op === JmpOp.JA) {
        add(`${c} ja`, cls === Class.JMP ? slot(cls | op, 0, 0, -3) : slot(cls | op, 0, 0, 0, 70000));
      } else if (op === JmpOp.CALL) {
        if (cls === Class.JMP32) continue;
        add('call helper', slot(cls | op, 0, 0, 0, 14));
        add('call unknown helper id', slot(cls | op, 0, 0, 0, 9999));
        add('call local', slot(cls | op, 0, Pseudo.CALL, 0, -4));
        add('call kfunc', slot(cls | op, 0, Pseudo.KFUNC_CALL, 0, 12345));
      } else if (op === JmpOp.EXIT) {
        if (cls === Class.JMP) add('exit', slot(cls | op));
      } else if (op === JmpOp.JCOND) {
        if (cls === Class.JMP) add('may_goto', slot(cls | op, 0, A.MAY_GOTO, 7));
      } else {
        add(`${c} ${name} K`, slot(cls | op | Source.K, 1, 0, 5, -5));
        add(`${c} ${name} X`, slot(cls | op | Source.X, 1, 2, -6));
      }
    }
  }
  for (const [sn, size] of sizes) {
    if (size !== Size.DW) {
      add(`ldabs ${sn}`, slot(Class.LD | Mode.ABS | size, 0, 0, 0, 14));
      add(`ldind ${sn}`, slot(Class.LD | Mode.IND | size, 0, 3, 0, -2));
      add(`ldxs ${sn}`, slot(Class.LDX | Mode.MEMSX | size, 1, 2, -2));
    }
    add(`ldx ${sn}`, slot(Class.LDX | Mode.MEM | size, 1, 6, 8));
    add(`st ${sn}`, slot(Class.ST | Mode.MEM | size, 10, 0, -4, -1));
    add(`stx ${sn}`, slot(Class.STX | Mode.MEM | size, 10, 1, -8));
    add(`load_acquire ${sn}`, slot(Class.STX | Mode.ATOMIC | size, 0, 1, 8, AtomicOp.LOAD_ACQ));
    add(`store_release ${sn}`, slot(Class.STX | Mode.ATOMIC | size, 1, 2, 16, AtomicOp.STORE_REL));
    if (size === Size.W || size === Size.DW) {
      for (const op of [AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR]) {
        add(`atomic ${sn} ${op}`, slot(Class.STX | Mode.ATOMIC | size, 1, 2, 0, op));
        add(`atomic ${sn} ${op}|fetch`, slot(Class.STX | Mode.ATOMIC | size, 1, 2, 4, op | AtomicOp.FETCH));
      }
      add(`xchg ${sn}`, slot(Class.STX | Mode.ATOMIC | size, 1, 3, -8, AtomicOp.XCHG));
      add(`cmpxchg ${sn}`, slot(Class.STX | Mode.ATOMIC | size, 1, 3, -8, AtomicOp.CMPXCHG));
    }
  }
  const LD = A.LD_IMM64;
  add('ld_imm64', slot(LD, 1, 0, 0, 0x55667788), slot(0, 0, 0, 0, 0x11223344 | 0));
  add('ld_imm64 high bit', slot(LD, 1, 0, 0, -1), slot(0, 0, 0, 0, -2));
  add('ld_imm64 map fd', slot(LD, 1, Pseudo.MAP_FD, 0, 7), slot(0));
  add('ld_imm64 map value', slot(LD, 1, Pseudo.MAP_VALUE, 0, 7), slot(0, 0, 0, 0, 24));
  add('ld_imm64 btf var', slot(LD, 2, Pseudo.BTF_ID, 0, 1234), slot(0));
  add('ld_imm64 btf var in module', slot(LD, 2, Pseudo.BTF_ID, 0, 1234), slot(0, 0, 0, 0, 9));
  add('ld_imm64 func', slot(LD, 2, Pseudo.FUNC, 0, 5), slot(0));
  add('ld_imm64 map idx', slot(LD, 3, Pseudo.MAP_IDX, 0, 2), slot(0));
  add('ld_imm64 map idx value', slot(LD, 3, Pseudo.MAP_IDX_VALUE, 0, 2), slot(0, 0, 0, 0, 16));
  return out;
}

function roundTrip(slots: RawInsn[], opts: A.DisasmOptions = {}): { text: string[]; back: Buffer } {
  const bytes = A.encodeRaw(slots);
  const text = A.disassemble(bytes, opts);
  const back = A.encodeRaw(A.assemble(A.parseAsm(text)).insns);
  return { text, back };
}

const rt = suite('asm round trip');
const cases = isaCases();

rt('the enumeration covers every class, ALU/JMP op and atomic op of the tables', () => {
  const codes = new Set(cases.map((c) => c.slots[0]!.code));
  for (const cls of Object.values(Class)) assert.ok([...codes].some((c) => (c & 7) === cls), `class ${cls}`);
  for (const op of Object.values(AluOp)) assert.ok(codes.has(Class.ALU64 | op) || codes.has(Class.ALU | op), `alu op ${op}`);
  for (const op of Object.values(JmpOp)) assert.ok(codes.has(Class.JMP | op), `jmp op ${op}`);
  const atomicImms = new Set(cases.filter((c) => (c.slots[0]!.code & 0xe0) === Mode.ATOMIC).map((c) => c.slots[0]!.imm));
  for (const op of Object.values(AtomicOp)) if (op !== AtomicOp.FETCH) assert.ok(atomicImms.has(op), `atomic ${op}`);
  assert.ok(atomicImms.has(AtomicOp.ADD | AtomicOp.FETCH));
});

for (const c of cases) {
  rt(`ISA: ${c.name}`, () => {
    const { text, back } = roundTrip(c.slots);
    assert.is(text.length, 1, 'one line per instruction');
    assert.not.match(text[0]!, /unknown opcode/);
    assert.is(back.toString('hex'), A.encodeRaw(c.slots).toString('hex'), text[0]);
    // The verifier-log form with opcode prefixes parses back to the same bytes too.
    assert.is(roundTrip(c.slots, { opcodes: true, indices: true }).back.toString('hex'), back.toString('hex'));
  });
}

rt('every opcode byte outside the ISA prints as unknown and keeps all its fields', () => {
  const valid = new Set(cases.map((c) => c.slots[0]!.code));
  let unknown = 0;
  for (let code = 0; code < 256; code++) {
    if (valid.has(code)) continue;
    unknown++;
    const raw = slot(code, 3, 4, -9, 0x12345);
    const { text, back } = roundTrip([raw]);
    assert.match(text[0]!, new RegExp(`^\\(${code.toString(16).padStart(2, '0')}\\) unknown opcode`), `opcode ${code}`);
    assert.is(back.toString('hex'), A.encodeRaw([raw]).toString('hex'), text[0]);
  }
  // Sanity: the ISA leaves most of the 256 byte values undefined.
  assert.ok(unknown > 100 && unknown < 200, `${unknown} unknown opcode bytes`);
});

rt('invalid fields of a defined opcode also print as unknown', () => {
  const bad = [
    slot(Class.STX | Mode.ATOMIC | Size.DW, 1, 2, 0, 0x02), // no such atomic op
    slot(Class.STX | Mode.ATOMIC | Size.B, 1, 2, 0, AtomicOp.ADD), // rmw atomics are 32/64-bit only
    slot(Class.JMP | JmpOp.CALL, 0, 3, 0, 1), // no such call kind
    slot(Class.JMP | JmpOp.JCOND, 0, 1, 0, 0), // only src 0 (may_goto) is defined
    slot(A.LD_IMM64, 1, 9), // no such ld_imm64 pseudo source
  ];
  for (const raw of bad) {
    const text = A.formatInsn(raw, 0, slot(0));
    assert.match(text, /unknown opcode/);
    assert.equal(A.assemble(A.parseAsm([text])).insns[0], raw);
  }
});

rt('a whole assembled program re-assembles from its disassembly, maps by name', () => {
  const items: A.Item[] = [
    A.mov64.reg(A.R6, A.R1),
    A.call('get_current_pid_tgid'),
    A.stx.dw(A.FP, -8, A.R0),
    A.label('again'),
    A.ldMapFd(A.R1, 'counts'),
    A.mov64.reg(A.R2, A.FP),
    A.add64.imm(A.R2, -8),
    A.call('map_lookup_elem'),
    A.jeq.imm(A.R0, 0, 'miss'),
    A.mov64.imm(A.R1, 1),
    A.atomic.add.dw(A.R0, 0, A.R1),
    A.ldMapValue(A.R7, 'config', 16),
    A.ldxs.w(A.R3, A.R7, 0),
    A.jslt32.imm(A.R3, -1, 'again'),
    A.ja32('out'),
    A.label('miss'),
    A.ldImm64(A.R1, -2n),
    A.callLocal('sub'),
    A.label('out'),
    A.mov64.imm(A.R0, 0),
    A.exit(),
    A.label('sub'),
    A.mov32.imm(A.R0, 0xffffffff),
    A.exit(),
  ];
  const asm = A.assemble(items);
  const text = A.disassemble(asm.insns, { mapRefs: asm.mapRefs });
  assert.ok(text.includes('r1 = map[counts]'), text.join('\n'));
  assert.ok(text.includes('r7 = map[config][0]+16'), text.join('\n'));
  const again = A.assemble(A.parseAsm(text));
  assert.equal(again.insns, asm.insns);
  assert.equal(again.mapRefs, asm.mapRefs);
  // Same program through the raw byte form, with the maps already holding fds 5 and 6.
  const patched = asm.insns.map((s, i) => (i === asm.mapRefs[0]!.index ? { ...s, imm: 5 } : i === asm.mapRefs[1]!.index ? { ...s, imm: 6 } : s));
  const named = A.disassemble(A.encodeRaw(patched), { mapNames: new Map([[5, 'counts']]) });
  assert.ok(named.includes('r1 = map[counts]'));
  assert.ok(named.includes('r7 = map[id:6][0]+16'));
  assert.equal(A.encodeRaw(A.assemble(A.parseAsm(A.disassemble(patched))).insns), A.encodeRaw(patched));
});

rt.run();

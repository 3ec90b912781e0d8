// The static verifier against the kernel on the corpus of clang-built objects (test/_lib/objects):
// every program is verified by us and loaded into the running kernel (never attached). Prints the
// share of what the kernel accepts that we refuse, per program type and per reason, and any program
// we accept that the kernel refuses (there must be none). Needs root.
//   npm run build && node dist/bench/verify-corpus.js [--all] [--json]
import { progTypeName } from '../src/asm/abi.js';
import { SUPPORTED_PROG_TYPES, verifyProgram } from '../src/verify/static/index.js';
import { measureCorpus } from '../test/_lib/corpus-objects.js';

export interface CorpusRow {
  program: string;
  type: string;
  supported: boolean;
  kernel: 'accept' | 'reject' | 'none';
  kernelReason?: string;
  ours: 'accept' | 'reject';
  ourReason?: string;
}

/** A refusal reason with the specifics (numbers, names, registers) taken out, for grouping. */
export function reasonClass(message: string): string {
  return message
    .replace(/^(insn \d+ \([^)]*\)|program '[^']*'): /, '')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\br\d+\b/g, 'rN')
    .replace(/-?\b\d+\b/g, 'N')
    .replace(/\(allowed: [^)]*\)/, '(allowed: …)')
    .slice(0, 110);
}

export function corpusRows(): CorpusRow[] {
  const rows: CorpusRow[] = [];
  for (const p of measureCorpus()) {
    if (!p.spec || !p.kernel) continue;
    const k = p.kernel;
    const kernel = k.stage === 'ours' ? 'none' : k.accepted ? 'accept' : 'reject';
    const r = verifyProgram(p.spec);
    const row: CorpusRow = {
      program: `${p.object}:${p.section}`,
      type: progTypeName(p.spec.type),
      supported: SUPPORTED_PROG_TYPES.has(p.spec.type),
      kernel,
      ours: r.ok ? 'accept' : 'reject',
    };
    if (k.reason) row.kernelReason = k.reason;
    if (!r.ok) row.ourReason = r.errors[0]!.message;
    rows.push(row);
  }
  return rows;
}

function main(): void {
  const args = process.argv.slice(2);
  const rows = corpusRows();
  if (args.includes('--json')) {
    console.log(JSON.stringify(rows, null, 1));
    return;
  }
  const judged = rows.filter((r) => r.kernel !== 'none');
  const unsound = judged.filter((r) => r.ours === 'accept' && r.kernel === 'reject');
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '-');
  const accepted = judged.filter((r) => r.kernel === 'accept');
  const supported = accepted.filter((r) => r.supported);
  const refusedSupported = supported.filter((r) => r.ours === 'reject');
  console.log(`corpus: ${rows.length} programs, ${judged.length} with a kernel verdict; the kernel accepts ${accepted.length}`);
  console.log(`we accept what the kernel refuses: ${unsound.length}${unsound.length ? ' (UNSOUND: ' + unsound.map((r) => r.program).join(', ') + ')' : ''}`);
  console.log(`supported types: we refuse ${refusedSupported.length} of the ${supported.length} the kernel accepts = ${pct(refusedSupported.length, supported.length)}`);
  console.log(`all types:       we refuse ${accepted.filter((r) => r.ours === 'reject').length} of ${accepted.length} = ${pct(accepted.filter((r) => r.ours === 'reject').length, accepted.length)}`);
  console.log('\nper program type (kernel accepts / we refuse of those):');
  const types = [...new Set(accepted.map((r) => r.type))].sort();
  for (const t of types) {
    const of = accepted.filter((r) => r.type === t);
    const refused = of.filter((r) => r.ours === 'reject').length;
    console.log(`  ${t.padEnd(16)} ${String(of.length).padStart(4)}  ${String(refused).padStart(4)}  ${pct(refused, of.length).padStart(8)}${of[0]!.supported ? '' : '  (type not supported)'}`);
  }
  console.log('\nper reason (programs the kernel accepts and we refuse):');
  const reasons = new Map<string, string[]>();
  for (const r of accepted) {
    if (r.ours !== 'reject') continue;
    const c = r.supported ? reasonClass(r.ourReason ?? '') : 'program type not supported';
    reasons.set(c, [...(reasons.get(c) ?? []), r.program]);
  }
  for (const [c, progs] of [...reasons].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`  ${String(progs.length).padStart(4)}  ${c}`);
    if (args.includes('--all')) for (const p of progs) console.log(`          ${p}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();

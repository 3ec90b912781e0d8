// The static verifier against the kernel on the corpus of clang-built objects (test/_lib/objects):
// every program is verified by us and loaded into the running kernel (never attached). Hard rule: no
// program we accept is refused by the kernel. Goal: on the supported types we refuse under 10 % of
// what the kernel accepts (bench/verify-corpus.ts prints the breakdown).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { corpusRows } from '../bench/verify-corpus.js';
import { kernelTest } from './_lib/privilege.js';

const t = suite('verify: real-object corpus vs the kernel');

kernelTest(t, 'no program we accept is refused by the kernel; we refuse under 10 % of what it accepts', () => {
  const rows = corpusRows();
  const judged = rows.filter((r) => r.kernel !== 'none');
  assert.ok(judged.length >= 50, `only ${judged.length} corpus programs got a kernel verdict`);
  const unsound = judged.filter((r) => r.ours === 'accept' && r.kernel === 'reject').map((r) => `${r.program}: kernel says ${r.kernelReason}`);
  assert.equal(unsound, [], 'programs we accept but the kernel refuses');
  const accepted = judged.filter((r) => r.kernel === 'accept' && r.supported);
  const refused = accepted.filter((r) => r.ours === 'reject');
  const share = refused.length / accepted.length;
  console.log(`  corpus: ${judged.length} programs with a kernel verdict; on supported types the kernel accepts ${accepted.length}, we refuse ${refused.length} (${(100 * share).toFixed(1)} %)`);
  assert.ok(share < 0.1, `we refuse ${refused.length} of ${accepted.length}:\n${refused.map((r) => `${r.program}: ${r.ourReason}`).join('\n')}`);
});

t.run();

// Ctrl-C on a terminal reaches the whole foreground process group: the command must get it once, not a
// second forwarded copy (many tools take a second Ctrl-C as "quit now"). Driven through a real pty.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('cli run: terminal signals');

// The command says "ready" on the terminal once its handler is in place; only then comes the Ctrl-C.
// A second copy, if the monitor forwarded one, would come from its SIGINT handler: the command
// reports only after the monitor has written two more records since the Ctrl-C (its event loop has
// passed its signal handler by then) and after one more turn of its own loop (to run its handler).
const CHILD_JS = String.raw`
const fs = require('fs');
const [recs, out] = process.argv.slice(-2);
const lines = () => { try { return fs.readFileSync(recs, 'utf8').split('\n').length; } catch { return 0; } };
let n = 0, at = -1;
const report = () => { fs.writeFileSync(out, String(n)); process.exit(0); };
process.on('SIGINT', () => { if (n++ === 0) at = lines(); });
const poll = setInterval(() => {
  if (at >= 0 && lines() >= at + 2) { clearInterval(poll); setTimeout(report, 100); }
}, 20);
setTimeout(report, 100000);
process.stdout.write('ready\n');
`;

const PTY_DRIVER = `
import os, pty, sys, time, select
cli, node, child_js, recs, out = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, cli, '--quiet', '--out', recs, 'run', '--', node, '-e', child_js, recs, out])
seen = b''
def read_until(cond, secs):
    global seen
    deadline = time.time() + secs
    while time.time() < deadline and not cond():
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    return cond()
if not read_until(lambda: b'ready' in seen, 90):
    sys.exit('the command never said ready: %r' % seen)
os.write(fd, b'\\x03')
read_until(lambda: False, 110)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
`;

const name = 'one Ctrl-C on the terminal: the command receives SIGINT once';
const register = hasCommand('python3') ? test : test.skip;
if (!hasCommand('python3')) console.log(`  [skip] ${name}: python3 is not installed (the pty driver)`);
register(name, () => {
  const driver = join(scratchDir(), 'pty-driver.py');
  const stamp = process.hrtime.bigint();
  const out = join(scratchDir(), `sigint-count-${stamp}`);
  const recs = join(scratchDir(), `sigint-records-${stamp}.jsonl`);
  writeFileSync(driver, PTY_DRIVER);
  const r = spawnSync('python3', [driver, CLI, process.execPath, CHILD_JS, recs, out], { encoding: 'utf8', timeout: 240_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0', 'the command handled the signal and exited 0');
  assert.is(readFileSync(out, 'utf8'), '1', 'SIGINT delivered exactly once');
});

test.run();

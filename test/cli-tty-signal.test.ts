// Ctrl-C on a terminal reaches the whole foreground process group: the command must get it once, not a
// second forwarded copy (many tools take a second Ctrl-C as "quit now"). Driven through a real pty.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, hasCommand, scratchDir } from './_lib/workloads.js';

const test = suite('cli run: terminal signals');

const PTY_DRIVER = `
import os, pty, sys, time, select
cli, out = sys.argv[1], sys.argv[2]
child_js = "let n=0; process.on('SIGINT', () => { n++; }); setTimeout(() => { require('fs').writeFileSync(%r, String(n)); process.exit(0); }, 1500);" % out
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], [sys.argv[3], cli, '--quiet', 'run', '--', sys.argv[3], '-e', child_js])
time.sleep(0.8)
os.write(fd, b'\\x03')
deadline = time.time() + 10
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            if not os.read(fd, 4096): break
        except OSError:
            break
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
`;

const name = 'one Ctrl-C on the terminal: the command receives SIGINT once';
const register = hasCommand('python3') ? test : test.skip;
if (!hasCommand('python3')) console.log(`  [skip] ${name}: python3 is not installed (the pty driver)`);
register(name, () => {
  const driver = join(scratchDir(), 'pty-driver.py');
  const out = join(scratchDir(), `sigint-count-${process.hrtime.bigint()}`);
  writeFileSync(driver, PTY_DRIVER);
  const r = spawnSync('python3', [driver, CLI, out, process.execPath], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '0', 'the command handled the signal and exited 0');
  assert.is(readFileSync(out, 'utf8'), '1', 'SIGINT delivered exactly once');
});

test.run();

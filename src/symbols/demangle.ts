// C++ (Itanium ABI) names demangled by c++filt (binutils) when it is installed: one process for all the
// names of a run. Without it the names stay as the symbol tables have them.
import { spawnSync } from 'node:child_process';

/** Demangled forms of the `_Z…` names among `names` (without parameter lists: `c++filt -p`). */
export function demangle(names: Iterable<string>): Map<string, string> {
  const mangled = [...new Set([...names].filter((n) => n.startsWith('_Z')))];
  const out = new Map<string, string>();
  if (mangled.length === 0) return out;
  let r;
  try {
    r = spawnSync('c++filt', ['-p'], { input: mangled.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28, timeout: 60_000 });
  } catch {
    return out;
  }
  if (r.status !== 0 || typeof r.stdout !== 'string') return out;
  const lines = r.stdout.split('\n');
  // One line out per line in; anything else (an unexpected c++filt) and the names stay as they are.
  if (lines.length < mangled.length) return out;
  mangled.forEach((m, i) => {
    const d = lines[i]!.trim();
    if (d !== '' && d !== m) out.set(m, d);
  });
  return out;
}

// --trace: which syscalls to count, from categories and names, as strace's -e trace= takes them.
import { CATEGORIES, categoryOf, type Category } from './categories.js';
import { syscallTable, type SyscallTable } from './table.js';

/** strace's class names that differ from our categories. */
const ALIASES: Record<string, Category> = { file: 'file_io' };

export interface SyscallSelection {
  /**
   * The syscall names selected, sorted: bare names (both ABIs) and, for a prefixed word such as
   * `ia32:getpid`, that name only.
   */
  names: string[];
  /** Words that are neither a category nor a syscall of this architecture. */
  unknown: string[];
}

/** Expands `--trace` words (categories, or syscall names of the running architecture) into syscall names. */
export function selectSyscalls(words: readonly string[], table: SyscallTable = syscallTable()): SyscallSelection {
  const names = new Set<string>();
  const unknown: string[] = [];
  const all = [...table.entries(), ...table.compat.entries()].map(([, n]) => n.slice(n.indexOf(':') + 1));
  for (const raw of words) {
    const word = raw.trim();
    if (word === '') continue;
    const cat = ALIASES[word] ?? ((CATEGORIES as readonly string[]).includes(word) ? (word as Category) : undefined);
    if (cat) {
      for (const n of all) if (categoryOf(n) === cat) names.add(n);
    } else if (word.startsWith(`${table.compat.prefix}:`) ? table.compat.number(word) !== undefined : table.number(word) !== undefined || table.compat.number(word) !== undefined) {
      names.add(word);
    } else {
      unknown.push(word);
    }
  }
  return { names: [...names].sort(), unknown };
}

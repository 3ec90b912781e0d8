// The allow-list as a classic-BPF seccomp filter, assembled by our cBPF assembler. Layout:
//   1. seccomp_data.arch: the native ABI goes on; the compat ABI goes to its own list when the runs
//      made 32-bit syscalls; any other architecture is killed (a syscall number means nothing there);
//   2. native list: on x86_64 a number with the x32 bit (0x40000000) is denied first: x32 shares
//      AUDIT_ARCH_X86_64, so without this check its calls would be judged by x86_64 numbers;
//   3. one `jeq` per allowed number, busiest first, jumping to a nearby `ret ALLOW`;
//   4. after the last check, the default action: SECCOMP_RET_ERRNO|EPERM or SECCOMP_RET_KILL_PROCESS.
import { cbpf } from '../asm/index.js';
import type { NativeArch } from '../syscalls/index.js';
import type { AllowEntry, AllowList } from './allowlist.js';

const { ldAbs, jeq, jge, ja, ret, label } = cbpf;

/** struct seccomp_data offsets. */
export const SECCOMP_DATA = { nr: 0, arch: 4, instruction_pointer: 8, args: 16 } as const;

/** AUDIT_ARCH_* of include/uapi/linux/audit.h. */
export const AUDIT_ARCH = { X86_64: 0xc000003e, I386: 0x40000003, AARCH64: 0xc00000b7, ARM: 0x40000028 } as const;
export const X32_SYSCALL_BIT = 0x40000000;

/** SECCOMP_RET_* of include/uapi/linux/seccomp.h (action in the high 16 bits, data in the low). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000, KILL_THREAD: 0x00000000, TRAP: 0x00030000, ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000, TRACE: 0x7ff00000, LOG: 0x7ffc0000, ALLOW: 0x7fff0000,
} as const;
export const EPERM = 1;

export type DenyAction = 'errno' | 'kill';

export const ARCH_AUDIT: Record<NativeArch, { native: number; compat: number }> = {
  x86_64: { native: AUDIT_ARCH.X86_64, compat: AUDIT_ARCH.I386 },
  aarch64: { native: AUDIT_ARCH.AARCH64, compat: AUDIT_ARCH.ARM },
};

export function denyValue(deny: DenyAction): number {
  return deny === 'kill' ? SECCOMP_RET.KILL_PROCESS : SECCOMP_RET.ERRNO | EPERM;
}

/** jeq skips are 8 bits: each group of checks gets its own `ret ALLOW` within reach. */
const GROUP = 200;

function allowChecks(entries: readonly AllowEntry[], tag: string, deny: number): cbpf.CItem[] {
  const items: cbpf.CItem[] = [];
  const groups = Math.max(1, Math.ceil(entries.length / GROUP));
  for (let g = 0; g < groups; g++) {
    const allow = `${tag}_allow${g}`;
    for (const e of entries.slice(g * GROUP, (g + 1) * GROUP)) items.push(jeq(e.nr, allow));
    if (g === groups - 1) {
      // No match anywhere: the default action.
      items.push(ret(deny), label(allow), ret(SECCOMP_RET.ALLOW));
    } else {
      items.push(ja(`${tag}_next${g}`), label(allow), ret(SECCOMP_RET.ALLOW), label(`${tag}_next${g}`));
    }
  }
  return items;
}

/** The filter program as instruction values. */
export function seccompProgram(list: AllowList, deny: DenyAction): cbpf.CItem[] {
  const audit = ARCH_AUDIT[list.arch];
  const denyK = denyValue(deny);
  const items: cbpf.CItem[] = [ldAbs('w', SECCOMP_DATA.arch)];
  if (list.compat.length) {
    items.push(jeq(audit.native, 'native', 'not_native'), label('not_native'), jeq(audit.compat, 'to_compat', 'foreign'), label('to_compat'), ja('compat'));
  } else {
    items.push(jeq(audit.native, 'native', 'foreign'));
  }
  items.push(label('foreign'), ret(SECCOMP_RET.KILL_PROCESS), label('native'), ldAbs('w', SECCOMP_DATA.nr));
  if (list.arch === 'x86_64') items.push(jge(X32_SYSCALL_BIT, 'x32', 'native_list'), label('x32'), ret(denyK), label('native_list'));
  items.push(...allowChecks(list.native, 'native', denyK));
  if (list.compat.length) items.push(label('compat'), ldAbs('w', SECCOMP_DATA.nr), ...allowChecks(list.compat, 'compat', denyK));
  return items;
}

/** The filter as raw struct sock_filter bytes: what `bwrap --seccomp FD` and PR_SET_SECCOMP take. */
export function compileSeccomp(list: AllowList, deny: DenyAction): Buffer {
  return cbpf.encodeCbpf(cbpf.assembleCbpf(seccompProgram(list, deny)).filters);
}

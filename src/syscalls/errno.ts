// errno number -> name, for the failed syscalls the tracer sees (a return value in -4095..-1).
// Node's table is the one of the platform it was built for, i.e. the running architecture's; Linux
// has more codes than it lists, and the kernel-internal restart codes (512..530) reach the syscall-exit
// tracepoint before signal handling turns them into EINTR or a restart, as strace shows them too.
import { constants } from 'node:os';

/** Where one number has two names, the one strace and the kernel headers print. */
const PREFERRED = ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK'];

/** Linux codes Node's table lacks (asm-generic/errno.h, used by x86_64 and arm64), and kernel-internal ones (linux/errno.h). */
const LINUX_EXTRA: [number, string][] = [
  [44, 'ECHRNG'], [45, 'EL2NSYNC'], [46, 'EL3HLT'], [47, 'EL3RST'], [48, 'ELNRNG'], [49, 'EUNATCH'], [50, 'ENOCSI'],
  [51, 'EL2HLT'], [52, 'EBADE'], [53, 'EBADR'], [54, 'EXFULL'], [55, 'ENOANO'], [56, 'EBADRQC'], [57, 'EBADSLT'],
  [59, 'EBFONT'], [64, 'ENONET'], [65, 'ENOPKG'], [66, 'EREMOTE'], [68, 'EADV'], [69, 'ESRMNT'], [70, 'ECOMM'],
  [73, 'EDOTDOT'], [76, 'ENOTUNIQ'], [77, 'EBADFD'], [78, 'EREMCHG'], [79, 'ELIBACC'], [80, 'ELIBBAD'],
  [81, 'ELIBSCN'], [82, 'ELIBMAX'], [83, 'ELIBEXEC'], [85, 'ERESTART'], [86, 'ESTRPIPE'], [87, 'EUSERS'],
  [94, 'ESOCKTNOSUPPORT'], [96, 'EPFNOSUPPORT'], [108, 'ESHUTDOWN'], [109, 'ETOOMANYREFS'], [112, 'EHOSTDOWN'],
  [117, 'EUCLEAN'], [118, 'ENOTNAM'], [119, 'ENAVAIL'], [120, 'EISNAM'], [121, 'EREMOTEIO'], [123, 'ENOMEDIUM'],
  [124, 'EMEDIUMTYPE'], [126, 'ENOKEY'], [127, 'EKEYEXPIRED'], [128, 'EKEYREVOKED'], [129, 'EKEYREJECTED'],
  [130, 'EOWNERDEAD'], [131, 'ENOTRECOVERABLE'], [132, 'ERFKILL'], [133, 'EHWPOISON'],
  [512, 'ERESTARTSYS'], [513, 'ERESTARTNOINTR'], [514, 'ERESTARTNOHAND'], [515, 'ENOIOCTLCMD'],
  [516, 'ERESTART_RESTARTBLOCK'], [517, 'EPROBE_DEFER'], [518, 'EOPENSTALE'], [519, 'ENOPARAM'],
  [521, 'EBADHANDLE'], [522, 'ENOTSYNC'], [523, 'EBADCOOKIE'], [524, 'ENOTSUPP'], [525, 'ETOOSMALL'],
  [526, 'ESERVERFAULT'], [527, 'EBADTYPE'], [528, 'EJUKEBOX'], [529, 'EIOCBQUEUED'], [530, 'ERECALLCONFLICT'],
];

/** The largest errno a syscall can return (MAX_ERRNO): -4095..-1 are errors, anything else a result. */
export const MAX_ERRNO = 4095;

const NAMES = new Map<number, string>();
for (const name of PREFERRED) {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined) NAMES.set(n, name);
}
for (const [name, n] of Object.entries(constants.errno)) if (!NAMES.has(n)) NAMES.set(n, name);
for (const [n, name] of LINUX_EXTRA) if (!NAMES.has(n)) NAMES.set(n, name);

/** "ENOENT" for 2; "E<n>" for a number without a name. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

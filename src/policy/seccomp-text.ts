// The allow-list as an OCI runtime seccomp profile (the `linux.seccomp` object of config.json, also
// what podman and docker take with --security-opt seccomp=FILE) and as a systemd unit drop-in.
import type { AllowEntry, AllowList } from './allowlist.js';
import { PolicyError } from './allowlist.js';
import type { DenyAction } from './seccomp-bpf.js';

const SCMP_ARCH: Record<string, { native: string; compat: string }> = {
  x86_64: { native: 'SCMP_ARCH_X86_64', compat: 'SCMP_ARCH_X86' },
  aarch64: { native: 'SCMP_ARCH_AARCH64', compat: 'SCMP_ARCH_ARM' },
};

function names(entries: readonly AllowEntry[], format: string, abi: string): string[] {
  const unnamed = entries.filter((e) => !e.named);
  if (unnamed.length) {
    throw new PolicyError(`the runs made ${abi} syscall${unnamed.length > 1 ? 's' : ''} ${unnamed.map((e) => e.nr).join(', ')}, which our table cannot name; ${format} needs names: use --format bpf (it allows by number)`);
  }
  return entries.map((e) => e.name).sort();
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string }[];
}

/**
 * The OCI profile. The 32-bit syscalls get their own `syscalls` entry and their architecture in
 * `architectures`; note that runtimes (libseccomp) apply every listed name on every listed
 * architecture, so such a profile allows the union of both lists on both ABIs (bpf does not).
 */
export function ociProfile(list: AllowList, deny: DenyAction): OciSeccomp {
  const arch = SCMP_ARCH[list.arch]!;
  const profile: OciSeccomp = deny === 'kill'
    ? { defaultAction: 'SCMP_ACT_KILL_PROCESS', architectures: [arch.native], syscalls: [] }
    : { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: [arch.native], syscalls: [] };
  profile.syscalls.push({ names: names(list.native, 'the OCI format', list.arch), action: 'SCMP_ACT_ALLOW' });
  if (list.compat.length) {
    profile.architectures.push(arch.compat);
    profile.syscalls.push({ names: names(list.compat, 'the OCI format', `32-bit (${list.compatPrefix})`), action: 'SCMP_ACT_ALLOW' });
  }
  return profile;
}

/** A systemd drop-in ([Service] section). systemd names syscalls for every allowed ABI at once, so 32-bit ones are refused. */
export function systemdDropIn(list: AllowList, deny: DenyAction): string {
  if (list.compat.length) {
    const some = list.compat.slice(0, 3).map((e) => `${list.compatPrefix}:${e.name}`).join(', ');
    throw new PolicyError(`the runs made 32-bit syscalls (${some}${list.compat.length > 3 ? ', ...' : ''}), which SystemCallFilter= cannot tie to their ABI; use --format bpf or oci`);
  }
  const lines = [
    `# Learnt by denet-pure seccomp from ${list.sources.join(', ')} (${list.arch}, ${list.native.length} syscalls).`,
    '# systemd adds its own @default set (execve, exit_group, rt_sigreturn, ...) to any allow-list.',
    '[Service]',
    'SystemCallArchitectures=native',
    `SystemCallFilter=${names(list.native, 'systemd', list.arch).join(' ')}`,
  ];
  // Without SystemCallErrorNumber=, a call outside the list kills the process (SIGSYS).
  if (deny === 'errno') lines.push('SystemCallErrorNumber=EPERM');
  return lines.join('\n') + '\n';
}

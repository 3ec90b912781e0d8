// Capability numbers to names (include/uapi/linux/capability.h), to show CapEff as people read it.
import { effectiveCaps } from '../loader/host.js';

export const CAP_NAMES = [
  'chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
  'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
  'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
  'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
  'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
  'checkpoint_restore',
] as const;

export const CAP = { SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

/** CAP_* names of the bits set in `mask` (unknown bits as cap_N). */
export function decodeCaps(mask: bigint): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(`CAP_${(CAP_NAMES[bit] ?? `cap_${bit}`).toUpperCase()}`);
  }
  return out;
}

/** The CapEff line of a /proc/PID/status text. */
export function capEff(status: string): bigint {
  return effectiveCaps(status);
}

export function hasCap(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}

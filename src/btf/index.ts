// BTF reading, for the kernel's types (vmlinux) and a BPF object's own (.BTF); imports nothing of ours.
export { Btf, BtfKind, BtfError, BtfUnavailableError, type BtfMember } from './btf.js';

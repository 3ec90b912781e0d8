// dp_sock_send and dp_sock_recv: the socket bytes of the tree, per process and class of socket.
//
// The kernel's sock_send_length / sock_recv_length tracepoints (Linux 6.3+) fire in
// sock_sendmsg_nosec / sock_recvmsg_nosec, which every send and receive on a socket goes through —
// send*, recv*, write/read and their vector forms, sendmmsg/recvmmsg, sendfile and splice into a
// socket, io_uring — in the task that does it, with the bytes moved (or an error). So a process's
// bytes are exact, and nothing here touches the syscall programs. Not seen: splice out of a TCP
// socket (tcp_splice_read) and TCP_ZEROCOPY_RECEIVE, which bypass recvmsg.
import { R0, R1, R3, R6, R7, R8, R9, R10, mov64, mov32, rsh64, ldx, st, stx, atomic, ja, jeq, jne, jset, jsle32, call, label } from '../asm/index.js';
import type { Instruction, Label } from '../asm/index.js';
import type { MapSpec, ProgramSpec } from '../asm/spec.js';
import { probeRead, returnZero, tracepointProgram } from './blocks.js';
import { NET_CLASSES, NetClassIndex, ProcValue, XStat, addXStat, procEntry, trackedOr, type TaskOffsets } from './activity-maps.js';

const AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
const IPPROTO_TCP = 6, IPPROTO_UDP = 17, IPPROTO_UDPLITE = 136;
/** recv flag: the bytes stay queued (a later receive returns them again), so they are not counted. */
const MSG_PEEK = 2;

export interface NetLayout {
  task: TaskOffsets;
  /** struct sock: __sk_common.skc_family and sk_protocol (both u16) */
  skFamily: number;
  skProtocol: number;
}

// Stack: -12 tgid (key), -24 {family u16, protocol u16}, -28 xstats index, -200 a procs value, -208 a pointer.
const TGID = -12, SK = -24, XIDX = -28, PVAL = -200, PTR = -208;

/**
 * sock_{send,recv}_length(sk, ret, flags): adds ret > 0 bytes to the current process's entry when it is
 * part of the tree, under the socket's class (r9 = its index in NET_CLASSES).
 */
export function sockProgram(dir: 'send' | 'recv', layout: NetLayout, maps: MapSpec[]): ProgramSpec {
  const base = dir === 'send' ? ProcValue.TX : ProcValue.RX;
  const cls = (c: keyof typeof NetClassIndex) => [mov64.imm(R9, NetClassIndex[c]), ja('classified')];
  const items: (Instruction | Label)[] = [
    mov64.reg(R6, R1),
    // ret is an int in a u64 slot (zero-extended): its low half, signed.
    ldx.dw(R8, R6, 8),
    jsle32.imm(R8, 0, 'out'),
    mov32.reg(R8, R8),
  ];
  if (dir === 'recv') items.push(ldx.dw(R1, R6, 16), jset.imm(R1, MSG_PEEK, 'out'));
  items.push(
    call('get_current_pid_tgid'),
    rsh64.imm(R0, 32),
    stx.w(R10, TGID, R0),
    ...trackedOr(TGID, 'out'),
    st.dw(R10, SK, 0),
    ldx.dw(R7, R6, 0),
    ...probeRead(SK, 2, mov64.reg(R3, R7), layout.skFamily),
    ...probeRead(SK + 2, 2, mov64.reg(R3, R7), layout.skProtocol),
    ldx.h(R1, R10, SK),
    ldx.h(R3, R10, SK + 2),
    jeq.imm(R1, AF_UNIX, 'unix'),
    jeq.imm(R1, AF_INET, 'ip'),
    jeq.imm(R1, AF_INET6, 'ip'),
    ...cls('other'),
    label('unix'),
    ...cls('unix'),
    label('ip'),
    jeq.imm(R3, IPPROTO_TCP, 'tcp'),
    jeq.imm(R3, IPPROTO_UDP, 'udp'),
    jeq.imm(R3, IPPROTO_UDPLITE, 'udp'),
    ...cls('other_ip'),
    label('tcp'),
    ...cls('tcp'),
    label('udp'),
    ...cls('udp'),
    label('classified'),
    ...procEntry(layout.task, TGID, PVAL, PTR, 'have', 'full'),
    label('full'),
    ...addXStat(XStat.NET_BYTES_LOST, XIDX, R8),
    ja('out'),
    label('have'),
    mov64.reg(R7, R0),
  );
  // One add per class at a fixed offset (no pointer arithmetic on a computed index).
  NET_CLASSES.forEach((_, i) => items.push(jne.imm(R9, i, `not_${i}`), atomic.add.dw(R7, base + 8 * i, R8), ja('out'), label(`not_${i}`)));
  items.push(...returnZero('out'));
  return tracepointProgram(dir === 'send' ? 'dp_sock_send' : 'dp_sock_recv', { type: 'raw', ctxSize: 24 }, items, maps);
}

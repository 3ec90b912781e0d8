// The stack outputs of `run`/`attach` and `stats --flamegraph`: the folded text and the SVG flame graph,
// both drawn from the summary's ebpf.stacks (so a saved run draws the same graph again).
import type { EbpfStacks } from '../monitor/index.js';
import { formatFolded, renderFlameGraph } from '../flame/index.js';

const n = (x: number) => x.toLocaleString('en-US');

export function foldedText(stacks: EbpfStacks): string {
  return formatFolded(stacks.folded);
}

/** What the graph shows, in one line: totals, sampling, losses. */
export function stacksSubtitle(stacks: EbpfStacks): string {
  const parts = [
    `${n(stacks.total)} ${stacks.every > 1 ? `sampled syscalls (1 in ${n(stacks.every)})` : 'syscalls'}`,
    `${n(stacks.unique)} unique stacks`,
    stacks.lost > 0 ? `${n(stacks.lost)} without their stack` : 'every stack kept',
  ];
  return parts.join(', ');
}

export function flameGraphSvg(stacks: EbpfStacks, cmd?: readonly string[]): string {
  const what = cmd && cmd.length > 0 ? cmd.join(' ') : undefined;
  return renderFlameGraph(stacks.folded, {
    title: what ? `Syscalls of ${what.length > 100 ? `${what.slice(0, 97)}...` : what}` : 'Syscall flame graph',
    subtitle: stacksSubtitle(stacks),
    unit: stacks.every > 1 ? 'samples' : 'syscalls',
    leafIsEvent: true,
  });
}

/** One warning line for stacks that were lost, with what to raise; undefined when none were. */
export function stackLossWarning(stacks: EbpfStacks): string | undefined {
  const l = stacks.losses;
  const why: string[] = [];
  if (l.stack_table_full) why.push(`${n(l.stack_table_full)} found the stack table full`);
  if (l.counts_table_full) why.push(`${n(l.counts_table_full)} found the (process, syscall, stack) table full`);
  if (l.no_user_stack) why.push(`${n(l.no_user_stack)} had no user stack`);
  if (l.other) why.push(`${n(l.other)} were refused by the stack helper`);
  if (why.length === 0) return undefined;
  return `eBPF: ${n(stacks.lost)} of ${n(stacks.total)} sampled syscalls have no stack (${why.join(', ')}); raise --stacks-max or sample with --stacks-every N`;
}

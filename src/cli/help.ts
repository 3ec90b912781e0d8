// The --help text: it should be enough to use the tool without reading docs/cli.md.
import { COMMANDS } from './commands/index.js';
import { EXIT } from './errors.js';

export function helpText(): string {
  const commands = COMMANDS.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`).join('\n');
  const usage = COMMANDS.flatMap((c) => c.usage.map((u) => `  denet-pure ${u}`)).join('\n');
  return `denet-pure: a streaming process monitor with in-kernel eBPF syscall counting.

Usage:
${usage}
  denet-pure --help | --version

Commands:
${commands}

Examples:
  denet-pure run -- make -j2                      live line + summary table (on stderr)
  denet-pure --out run.jsonl run -- ./bench.sh    records to a file, the command's output untouched
  denet-pure --json -q run -- python3 job.py > records.jsonl
  denet-pure --enable-ebpf --out run.jsonl run -- tar czf /tmp/x.tgz src
                                                  + calls, errors and time per syscall (strace -c)
  denet-pure --trace file --failed-only run -- ./app   which file syscalls fail, and with which errno
  denet-pure stats --syscalls --sort time run.jsonl   every syscall of the run, slowest total first
  denet-pure -d 30 attach 1234                    watch PID 1234 (and its children) for 30 s
  denet-pure --enable-ebpf -q --prometheus :9464 attach --cgroup system.slice/nginx.service
                                                  a service for Prometheus, until interrupted
  denet-pure stats run.jsonl                      the summary again; --format csv for the samples
  denet-pure --stacks s.folded --flamegraph f.svg run -- make -j2
                                                  where in their code the tree's syscalls are made
  denet-pure diff base.jsonl head.jsonl --max-increase 5%   exit 1 when syscalls grew by more
  denet-pure seccomp run.jsonl --format bpf -o run.bpf      allow-list for bwrap --seccomp
  denet-pure report run.jsonl -o report.html      plots, process timeline, phases, syscalls in one file

Options (before the subcommand, or between run/attach and the command):
  --enable-ebpf           count syscalls in the kernel (needs root or CAP_BPF+CAP_PERFMON); if that
                          cannot work, warn once and continue without syscall counts. Also measures
                          the tree's off-CPU and run-queue time and its own socket bytes (see below)
  --require-ebpf          like --enable-ebpf, but fail (exit ${EXIT.EBPF_REQUIRED}) instead of continuing without it;
                          nothing is started
  --ebpf-attach MODE      auto (default), raw or tracefs: how the counting programs attach
                          (implies --enable-ebpf)
  --max-processes N       eBPF: processes the kernel tables hold at once (default 16384, 64 to
                          4194304; about 700 bytes of kernel memory each, 280 without the off-CPU
                          and socket programs). Forks beyond it are not tracked: the summary says how many
  --max-counts N          eBPF: (process, syscall) pairs beyond the first 256 processes' own rows
                          (default 65536, 1024 to 16777216; about 80 bytes each)
  --count-only            eBPF: count calls only, with the one program at syscall entry (the lowest
                          overhead); by default each call's result and time are measured too
                          (errors, errnos, total/avg/max time and a latency histogram per syscall)
  --per-thread            eBPF: count per thread as well (the summary's ebpf.by_thread)
  --trace LIST            eBPF: count only these, comma-separated: categories (file, memory, process,
                          network, time, ipc, security, signal, system, other) or syscall names,
                          e.g. --trace file,network or --trace openat,read (filtered in the kernel)
  --failed-only           eBPF: count only the calls that fail (as strace -Z); not with --stacks
  --max-details N         eBPF: (process, syscall) pairs whose errors and time are kept (default
                          16384, 256 to 4194304; about 400 bytes each)
                          --count-only, --per-thread, --trace and --failed-only imply --enable-ebpf
  --stacks FILE           eBPF: record the user stack of every syscall of the tree (with --trace, of
                          those it selects) and write them to FILE as folded stacks
                          (comm;root;...;leaf;SYSCALL COUNT; FlameGraph, inferno and speedscope read
                          it). Named after the processes exit (build ids). Implies --enable-ebpf and
                          fails (exit ${EXIT.EBPF_REQUIRED}) when eBPF cannot work
  --flamegraph FILE.svg   eBPF: the same stacks as an interactive SVG flame graph (click to zoom,
                          Ctrl-F or Search to find frames, hover for counts); implies --stacks' capture
  --stacks-every N        sample one syscall in N per CPU (default 1: all) for very busy programs
  --stacks-kernel         add the kernel stack of each syscall (frames end in _[k])
  --stacks-max N          distinct stacks the kernel tables hold between two drains (default 4096,
                          256 to 1048576; drained at each sample and at least every second; about
                          5 KB of kernel memory each); what does not fit is counted as lost
  --no-off-cpu            eBPF: leave out the scheduler programs (off_cpu_secs, io_wait_secs,
                          runq_wait_secs). They run at every context switch of the machine: about
                          0.1 µs for a task outside the tree, 0.3 µs inside it (docs/tracer.md)
  --no-net                eBPF: leave out the socket programs (the tree's own net_tx_bytes/net_rx_bytes)
  -j, --json              write records as JSON Lines to stdout. The command's own output goes to the
                          same stdout; use --out for a clean file
  -o, --out FILE          write records as JSON Lines to FILE (created or truncated once the command
                          has started; '-' = stdout; a device or FIFO is written in place)
  --stats FILE            write the final summary as JSON to FILE at the end (replaced atomically;
                          through a symlink, the file it names; '-' = stdout)
  --report FILE           write the HTML report of the run to FILE at the end (as 'report' would);
                          the records go to a temporary file when --out is not given
  -i, --interval MS       first sampling interval in milliseconds (default 100; 10 to 86400000)
  -m, --max-interval MS   longest interval (default 1000, or -i if larger); the interval grows from
                          -i to -m as the run gets longer, so long runs do not produce huge files
  -d, --duration S        stop monitoring after S seconds (decimals allowed; 0, the default = until
                          it exits, or until interrupted for --cgroup).
                          run: the command is NOT killed, it keeps running and denet-pure exits 0
  --kill-on-duration      run: when --duration ends, send the command SIGTERM (SIGKILL after 2 s)
                          and exit with its status
  --stop-with-command     run: stop when the command exits, even if descendants it started still
                          run (by default run follows the whole tree to its end, like strace -f)
  -n, --no-update         print one plain line per sample instead of updating a line in place
  -q, --quiet             no progress and no summary table (warnings and errors still print)
  --exclude-children      monitor the process alone: 'sample' records instead of 'tree' records
  --since-process-start   cumulative counters (CPU time, I/O, page faults, network) from each
                          process's start, not from when monitoring began
  --write-env             first record: the machine (CPU, kernel, governor, THP, cgroup, affinity)
  --prometheus [HOST]:PORT  serve /metrics for Prometheus while monitoring (:9464 = every
                          interface; port 0 = any free one, printed on stderr): OpenMetrics when
                          the scraper asks for it, else the text format (docs/prometheus.md)
  --prometheus-target NAME  the 'target' label of the metrics (default: the command, the
                          process or the cgroup)
  --cgroup PATH           attach: every process of this cgroup v2 (and of the cgroups below it),
                          those that join later included, instead of a PID's tree; ends when the
                          cgroup is removed
  -h, --help              this text
  -V, --version           the version

Where output goes:
  stdout   records with --json (and whatever the command itself prints: it shares the terminal)
  stderr   the live line (in place on a terminal, plain lines otherwise), the summary table,
           warnings and errors. Colours only on a terminal, never when NO_COLOR is set
  FILE     records with --out; the summary with --stats
  HTTP     the same figures as metrics with --prometheus
  Records are written only with --json or --out: with --prometheus alone no JSON Lines are
  written (and -q leaves only warnings on stderr).

Records (one JSON object per line, each with "kind"):
  env (with --write-env), metadata (pid, cmd, executable, t0_ms, version, arch, capabilities.ebpf),
  one tree record per sample (sample with --exclude-children), a process record for each process
  of the tree when it has exited (its final figures, once), and a final summary.
  With eBPF, each sample carries ebpf.syscalls (cumulative totals, categories, top syscalls,
  analysis, and the last interval in ebpf.syscalls.window, with its errors and time_us) and
  ebpf.losses; the summary adds by_syscall, the table of calls, errors, errnos and times per
  syscall (syscalls.table), by_process, and by_thread with --per-thread. Totals count every process
  once, exited ones with their final figures (docs/metrics.md). With eBPF, every process and the
  aggregate also carry off_cpu_secs (blocked),
  io_wait_secs (of which waiting for the disk), runq_wait_secs (runnable, waiting for a CPU), per
  thread in 'threads', and net_tx_bytes/net_rx_bytes (the tree's own IP sockets; by class in 'net':
  tcp, udp, other_ip, unix, other); without eBPF only netns_* (the whole network namespace).
  Every sample has psi (cpu, memory, io pressure: the command's cgroup v2, else the system's).
  With --stacks/--flamegraph the summary has ebpf.stacks (every folded stack with its count,
  unique, total, every, lost and losses): stats FILE --flamegraph OUT.svg draws it again. Frame
  pointers matter: see docs/stacks.md.

Signals:
  run      SIGINT/SIGTERM/SIGHUP are passed to the command; monitoring goes on until it and its
           descendants have exited. If denet-pure is killed (even kill -9), the command is killed
  attach   SIGINT/SIGTERM/SIGHUP stop monitoring (the process is left alone); with --out FILE,
           SIGHUP reopens FILE instead (log rotation) and monitoring goes on
  Either way the summary is written and the output file ends with a complete line.

Exit codes:
  run      the command's exit code, or 128+N when a signal N killed it (0 when --duration
           ended monitoring and the command was left running)
  attach   0 when the process exited or --duration passed, 128+N when interrupted by signal N
  ${String(EXIT.OK).padEnd(8)} success (stats, report, vm, help)
  ${String(EXIT.RUNTIME).padEnd(8)} failure while monitoring or reading input; diff: a --max-increase limit was passed
  ${String(EXIT.USAGE).padEnd(8)} usage error: unknown option, bad value, missing command
  ${String(EXIT.NO_PROCESS).padEnd(8)} attach: no such process (or cgroup)
  ${String(EXIT.OUTPUT).padEnd(8)} --out, --stats or --report (report: -o) cannot be written; --prometheus cannot listen
  ${String(EXIT.EBPF_REQUIRED).padEnd(8)} --require-ebpf (or diag) and eBPF counting is unavailable here
  ${String(EXIT.NOT_EXECUTABLE).padEnd(8)} run: the command cannot be executed
  ${String(EXIT.NOT_FOUND).padEnd(8)} run: the command was not found
  Errors before the start print one line and start nothing, and create no output file. If monitoring
  fails later (e.g. the output disk fills up), run lets the command finish, then exits 1 or 4.

Environment:
  NO_COLOR=1     no colours
  DENET_DEBUG=1  stack traces on errors
  DENET_PURE_FIXED_YOUNG=0
                 attach (and run --prometheus) re-execute once with a fixed 4 MiB young generation,
                 so that RSS stays flat over a long attach (docs/prometheus.md); 0 keeps V8's default
`;
}

export function printHelp(): void {
  process.stdout.write(helpText());
}

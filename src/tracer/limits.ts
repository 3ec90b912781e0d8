// Default bounds of the tracer's kernel tables (the CLI's --max-processes and --max-counts).
// Kernel memory, as bpftool reports it (bytes_memlock): `tracked` 80 B and `exits` 200 B per process
// (16384: 4.5 MiB), `counts` 80 B per (process, syscall) pair (65536: 5 MiB), plus the 256 array rows
// of 1024 counters (2 MiB). See docs/ebpf.md.
export const DEFAULT_MAX_PROCESSES = 16384;
export const DEFAULT_MAX_COUNTS = 65536;
/** Detail mode: (process, syscall) pairs with errors and time (a 256-byte cell each, 4 MiB), and errno counters. */
export const DEFAULT_MAX_DETAILS = 16384;

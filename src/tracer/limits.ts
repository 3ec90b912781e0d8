// Default bounds of the tracer's kernel tables (the CLI's --max-processes and --max-counts).
// Kernel memory: tracked 16384 × ~64 B and exits 16384 × ~180 B ≈ 4 MiB; counts 65536 × ~80 B ≈ 5 MiB;
// plus the 256 array rows of 1024 counters (2 MiB). See docs/ebpf.md.
export const DEFAULT_MAX_PROCESSES = 16384;
export const DEFAULT_MAX_COUNTS = 65536;

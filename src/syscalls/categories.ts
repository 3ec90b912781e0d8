// The ten functional groups of syscalls and the placement of every syscall in our tables.
// The seed is the reference's category table; docs/syscall-analysis.md explains the judgement calls
// (rt_sigaction -> signal, futex -> process, pipes/eventfd -> ipc, sched_* -> time, prctl -> process).

export const CATEGORIES = [
  'file_io', 'memory', 'process', 'network', 'time', 'ipc', 'security', 'signal', 'system', 'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

// Names are listed once, across all four architectures' tables; a test checks that every table
// entry is placed and that no name is placed twice.
const PLACEMENT: Record<Exclude<Category, 'other'>, string> = {
  // Files, descriptors, directories, file metadata, readiness waiting, async I/O and file events.
  file_io: `
    read write open openat openat2 creat close close_range lseek _llseek
    pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2
    sendfile sendfile64 splice tee vmsplice copy_file_range
    stat lstat fstat stat64 lstat64 fstat64 oldstat oldlstat oldfstat newfstatat fstatat64 statx
    statfs fstatfs statfs64 fstatfs64 ustat
    getdents getdents64 readdir
    fsync fdatasync sync syncfs sync_file_range arm_sync_file_range
    truncate ftruncate truncate64 ftruncate64 fallocate fadvise64 fadvise64_64 arm_fadvise64_64 readahead cachestat
    dup dup2 dup3 fcntl fcntl64 flock ioctl
    poll ppoll ppoll_time64 select _newselect pselect6 pselect6_time64
    epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 epoll_ctl_old epoll_wait_old
    io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64
    io_uring_setup io_uring_enter io_uring_register
    inotify_init inotify_init1 inotify_add_watch inotify_rm_watch fanotify_init fanotify_mark
    mkdir mkdirat rmdir unlink unlinkat rename renameat renameat2 link linkat symlink symlinkat
    readlink readlinkat mknod mknodat chdir fchdir getcwd access faccessat faccessat2
    setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr
    removexattr lremovexattr fremovexattr setxattrat getxattrat listxattrat removexattrat
    file_getattr file_setattr utime utimes utimensat utimensat_time64 futimesat
    name_to_handle_at open_by_handle_at`,
  // Address space, mappings, NUMA policy, locking pages, protection keys, memory-backed files.
  memory: `
    mmap mmap2 munmap brk mprotect madvise process_madvise mremap msync mincore remap_file_pages
    mlock mlock2 munlock mlockall munlockall mseal map_shadow_stack
    mbind get_mempolicy set_mempolicy set_mempolicy_home_node migrate_pages move_pages
    memfd_create memfd_secret userfaultfd membarrier process_mrelease
    pkey_mprotect pkey_alloc pkey_free process_vm_readv process_vm_writev cacheflush`,
  // Creating, running, waiting for and describing processes and threads, including thread
  // synchronisation (futex), resource limits and namespaces.
  process: `
    clone clone3 fork vfork execve execveat exit exit_group wait4 waitid waitpid
    getpid getppid gettid getpgid setpgid getpgrp getsid setsid
    set_tid_address set_robust_list get_robust_list rseq
    futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue
    pidfd_open pidfd_getfd kcmp ptrace unshare setns personality prctl arch_prctl
    set_thread_area get_thread_area modify_ldt set_tls get_tls
    getrlimit setrlimit ugetrlimit prlimit64 ulimit getrusage`,
  network: `
    socket socketpair connect accept accept4 bind listen shutdown getsockname getpeername
    getsockopt setsockopt send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64
    socketcall`,
  // Clocks, sleeps, timers and, as the reference groups them, scheduling.
  time: `
    nanosleep clock_nanosleep clock_nanosleep_time64 clock_gettime clock_gettime64
    clock_settime clock_settime64 clock_getres clock_getres_time64 clock_adjtime clock_adjtime64
    adjtimex gettimeofday settimeofday time stime times alarm getitimer setitimer
    timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
    timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64
    sched_yield sched_setparam sched_getparam sched_setscheduler sched_getscheduler
    sched_get_priority_max sched_get_priority_min sched_rr_get_interval sched_rr_get_interval_time64
    sched_setaffinity sched_getaffinity sched_setattr sched_getattr nice getpriority setpriority
    ioprio_get ioprio_set`,
  // System V and POSIX IPC, plus pipes and eventfd, whose purpose is passing data or wake-ups
  // between processes or threads.
  ipc: `
    msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl
    shmget shmat shmdt shmctl ipc
    mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64
    mq_notify mq_getsetattr pipe pipe2 eventfd eventfd2`,
  // Permissions, ownership, credentials, capabilities, sandboxing, keys and LSMs.
  security: `
    chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat chown32 fchown32 lchown32 umask
    getuid geteuid getgid getegid getresuid getresgid getgroups
    getuid32 geteuid32 getgid32 getegid32 getresuid32 getresgid32 getgroups32
    setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups
    setuid32 setgid32 setreuid32 setregid32 setresuid32 setresgid32 setfsuid32 setfsgid32 setgroups32
    capget capset seccomp chroot landlock_create_ruleset landlock_add_rule landlock_restrict_self
    add_key request_key keyctl lsm_get_self_attr lsm_set_self_attr lsm_list_modules`,
  signal: `
    rt_sigaction rt_sigprocmask rt_sigpending rt_sigqueueinfo rt_tgsigqueueinfo rt_sigreturn
    rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
    sigaction signal sigprocmask sigpending sigsuspend sigreturn sgetmask ssetmask sigaltstack
    kill tkill tgkill pidfd_send_signal signalfd signalfd4 pause restart_syscall`,
  // Host-wide configuration and information: identity, mounts, modules, kexec, tracing, devices.
  system: `
    uname olduname oldolduname sysinfo sysfs _sysctl syslog reboot sethostname setdomainname
    getrandom getcpu vhangup acct bdflush nfsservctl lookup_dcookie
    mount umount umount2 pivot_root open_tree open_tree_attr move_mount mount_setattr
    fsopen fsconfig fsmount fspick statmount listmount swapon swapoff quotactl quotactl_fd
    init_module finit_module delete_module create_module get_kernel_syms query_module
    kexec_load kexec_file_load bpf perf_event_open iopl ioperm pciconfig_iobase pciconfig_read pciconfig_write`,
  // 'other' is not listed: it takes reserved and never-implemented numbers (afs_syscall, tuxcall,
  // break, ...), tracing trampolines (uprobe, uretprobe), ARM mode switches, vm86, uselib and
  // numbers without a name.
};

const BY_NAME = new Map<string, Category>();
for (const [category, names] of Object.entries(PLACEMENT) as [Category, string][]) {
  for (const name of names.split(/\s+/)) {
    if (!name) continue;
    // A name in two lists would silently take the later one; fail loudly at load instead.
    if (BY_NAME.has(name)) throw new Error(`syscall '${name}' is placed in ${BY_NAME.get(name)} and ${category}`);
    BY_NAME.set(name, category);
  }
}

/** Category of a syscall name; a compat prefix (`ia32:`, `arm32:`) is ignored. */
export function categoryOf(name: string): Category {
  const colon = name.indexOf(':');
  return BY_NAME.get(colon < 0 ? name : name.slice(colon + 1)) ?? 'other';
}

/** Every name given a category other than 'other', with its category (for tests and documentation). */
export function placedNames(): ReadonlyMap<string, Category> {
  return BY_NAME;
}

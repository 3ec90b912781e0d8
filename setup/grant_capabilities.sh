#!/usr/bin/env bash
# The least-privilege way to run denet-pure with eBPF counting: only CAP_BPF and CAP_PERFMON, only
# for denet-pure, only for members of a group. Measured on Linux 6.x, those two capabilities are all
# the default (raw tracepoint) mode needs; no sysctl has to change (docs/ebpf.md).
#
# Installs (each step skipped when already done; --dry-run only prints; --undo reverses):
#   /usr/local/bin/denet-pure-ebpf  a root-owned wrapper: started as root (through sudo), it drops to
#       the calling user keeping only CAP_BPF+CAP_PERFMON as ambient capabilities and runs this
#       checkout's denet-pure with the node found now. Nothing else gets the capabilities: unlike
#       `setcap` on the node binary, which would hand them to every node script on the machine.
#   /etc/sudoers.d/denet-pure-ebpf  (when sudo is installed) lets the group run the wrapper:
#       sudo denet-pure-ebpf --enable-ebpf run -- CMD
#   the group (default: denet-pure), with each --user added
set -euo pipefail
PROG=$(basename "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

GROUP=denet-pure
STATE_NAME=grant-capabilities.state
WRAPPER=/usr/local/bin/denet-pure-ebpf
SUDOERS=/etc/sudoers.d/denet-pure-ebpf
CLI=$(cd "$(dirname "$0")/.." && pwd)/dist/cli.mjs
NODE=$(command -v node || true)

usage() {
  cat <<USAGE
usage: sudo $PROG [--user NAME]... [--group NAME] [--dry-run] [--undo]
  --user NAME   allow NAME (adds NAME to the group; effective at NAME's next login)
  --group NAME  the group allowed to run $WRAPPER through sudo (default: denet-pure)
  --dry-run     print every step, change nothing (works without root)
  --undo        remove the wrapper and the sudoers rule; delete the group if we created it
Then: sudo denet-pure-ebpf --enable-ebpf run -- CMD    (as root without sudo: denet-pure-ebpf --as USER ...)
USAGE
}

wrapper_text() {
  cat <<WRAP
#!/bin/sh
# Installed by denet-pure setup/grant_capabilities.sh; remove with --undo.
# Runs denet-pure as the user who called sudo, with CAP_BPF and CAP_PERFMON only.
set -eu
if [ "\$(id -u)" != 0 ]; then echo "denet-pure-ebpf: start it through sudo: sudo denet-pure-ebpf ARGS" >&2; exit 1; fi
if [ -n "\${SUDO_USER:-}" ] && [ "\$SUDO_USER" != root ]; then
  user=\$SUDO_USER
elif [ -z "\${SUDO_USER:-}" ] && [ "\${1:-}" = --as ] && [ -n "\${2:-}" ]; then
  user=\$2; shift 2
else
  echo "denet-pure-ebpf: run it through sudo as the user to monitor with, or as root with --as USER" >&2; exit 1
fi
exec setpriv --reuid="\$user" --regid="\$(id -g "\$user")" --init-groups \\
  --inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon -- '$NODE' '$CLI' "\$@"
WRAP
}

check_sources() {
  [ -n "$NODE" ] || die "node is not on PATH"
  [ -f "$CLI" ] || die "$CLI is missing: build first (npm run build)"
  command -v setpriv >/dev/null || die "setpriv (util-linux) is not installed"
  # Whoever can change these files can run anything with the two capabilities.
  local f
  for f in "$NODE" "$CLI" "$(dirname "$CLI")"; do
    if [ "$(stat -L -c '%u' "$f")" != 0 ] || [ -n "$(find -L "$f" -maxdepth 0 -perm /022)" ]; then
      say "  warning: $f is not root-owned or is group/world-writable: its owner could run any code with CAP_BPF+CAP_PERFMON"
    fi
  done
}

install() {
  check_sources
  say "group:"
  ensure_group
  add_users
  say "wrapper:"
  write_file "$WRAPPER" 0755 "$(wrapper_text)"
  say "sudo:"
  if [ -d /etc/sudoers.d ]; then
    write_file "$SUDOERS" 0440 "# Installed by denet-pure setup/grant_capabilities.sh; remove with --undo.
%$GROUP ALL=(root) NOPASSWD: $WRAPPER"
    if [ "$DRY_RUN" = 0 ] && command -v visudo >/dev/null && ! visudo -cqf "$SUDOERS"; then rm -f "$SUDOERS"; die "visudo rejected $SUDOERS; removed it"; fi
  else
    say "  skipped: sudo is not installed (no /etc/sudoers.d); root can run: $WRAPPER --as USER ARGS"
  fi
  say "sysctls: none needed (measured: docs/ebpf.md)"
  say "done: members of $GROUP run: sudo denet-pure-ebpf --enable-ebpf run -- CMD"
}

undo() {
  say "undo:"
  remove_file "$SUDOERS"
  remove_file "$WRAPPER"
  undo_group
  finish_undo
}

parse_common "$@"
if [ "$UNDO" = 1 ]; then undo; else install; fi

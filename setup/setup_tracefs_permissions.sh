#!/usr/bin/env bash
# Makes tracefs readable by a group, now and at every boot, for denet-pure's tracefs attach mode
# (`--ebpf-attach tracefs`). The default raw mode needs no tracefs at all: see docs/ebpf.md.
#
# What it does (each step skipped when already done; --dry-run only prints; --undo reverses):
#   1. creates the group (default: tracing) and adds each --user to it
#   2. mounts tracefs at /sys/kernel/tracing if needed, with gid=<group> and mode 0750; tracefs is
#      one filesystem, so /sys/kernel/debug/tracing shows the same permissions; if debugfs is
#      mounted, its top directory gets the group with mode 0710 so that path can be traversed
#   3. installs denet-pure-tracefs.service, which does step 2 at every boot
# No sysctl is changed: none is needed (measured, see docs/ebpf.md).
set -euo pipefail
PROG=$(basename "$0")
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

GROUP=tracing
STATE_NAME=tracefs-permissions.state
UNIT=denet-pure-tracefs.service
UNIT_PATH=/etc/systemd/system/$UNIT
WANTS_LINK=/etc/systemd/system/multi-user.target.wants/$UNIT
TRACEFS=/sys/kernel/tracing
DEBUGFS=/sys/kernel/debug

usage() {
  cat <<USAGE
usage: sudo $PROG [--user NAME]... [--group NAME] [--dry-run] [--undo]
  --user NAME   add NAME to the group (repeatable; takes effect at NAME's next login)
  --group NAME  the group given read access to tracefs (default: tracing)
  --dry-run     print every step, change nothing (works without root)
  --undo        reverse what an earlier run did (as recorded in $STATE_DIR/$STATE_NAME)
USAGE
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }
owner_mode() { stat -c '%g %a' "$1"; }

# The commands the unit runs at boot, with the group's numeric id (mount options take numbers).
boot_script() {
  local gid=$1
  printf '%s' "mountpoint -q $TRACEFS || mount -t tracefs nodev $TRACEFS; mount -o remount,gid=$gid,mode=0750 $TRACEFS; ! mountpoint -q $DEBUGFS || mount -o remount,gid=$gid,mode=0710 $DEBUGFS"
}

apply_now() {
  local gid=$1
  if ! is_mounted "$TRACEFS"; then
    run mount -t tracefs -o "gid=$gid,mode=0750" nodev "$TRACEFS"
    state_set tracefs_mounted_by_us 1
  elif [ "$(owner_mode "$TRACEFS")" = "$gid 750" ]; then
    say "  ok: $TRACEFS is group $gid, mode 0750"
  else
    [ -n "$(state_get tracefs_owner)" ] || state_set tracefs_owner "$(owner_mode "$TRACEFS")"
    run mount -o "remount,gid=$gid,mode=0750" "$TRACEFS"
  fi
  if ! is_mounted "$DEBUGFS"; then
    say "  ok: debugfs not mounted (only $TRACEFS is used)"
  elif [ "$(owner_mode "$DEBUGFS")" = "$gid 710" ]; then
    say "  ok: $DEBUGFS is group $gid, mode 0710"
  else
    [ -n "$(state_get debugfs_owner)" ] || state_set debugfs_owner "$(owner_mode "$DEBUGFS")"
    run mount -o "remount,gid=$gid,mode=0710" "$DEBUGFS"
  fi
}

install_unit() {
  local gid=$1
  write_file "$UNIT_PATH" 0644 "# Installed by denet-pure setup/setup_tracefs_permissions.sh; remove with --undo.
[Unit]
Description=denet-pure: tracefs readable by group $GROUP
After=sys-kernel-tracing.mount sys-kernel-debug.mount

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c '$(boot_script "$gid")'

[Install]
WantedBy=multi-user.target"
  if [ -d /run/systemd/system ]; then
    run systemctl daemon-reload
    if systemctl is-enabled --quiet "$UNIT" 2>/dev/null; then say "  ok: $UNIT enabled"; else run systemctl enable "$UNIT"; fi
  elif [ -L "$WANTS_LINK" ]; then
    say "  ok: $UNIT enabled"
  else
    # systemd is not running (container, chroot): make the link `systemctl enable` would make.
    run mkdir -p "$(dirname "$WANTS_LINK")"
    run ln -s "$UNIT_PATH" "$WANTS_LINK"
  fi
}

undo() {
  say "undo:"
  if [ -d /run/systemd/system ] && systemctl is-enabled --quiet "$UNIT" 2>/dev/null; then run systemctl disable "$UNIT"; fi
  remove_file "$WANTS_LINK"
  remove_file "$UNIT_PATH"
  if [ -d /run/systemd/system ]; then run systemctl daemon-reload; fi
  # tracefs keeps its owner after unmounting, so put the owner back before unmounting.
  local t d
  t=$(state_get tracefs_owner); t=${t:-0 700}
  d=$(state_get debugfs_owner); d=${d:-0 700}
  if is_mounted "$TRACEFS"; then
    run mount -o "remount,gid=${t% *},mode=0${t#* }" "$TRACEFS"
    if [ "$(state_get tracefs_mounted_by_us)" = 1 ]; then run umount "$TRACEFS" || say "  warning: $TRACEFS is busy; left mounted"; fi
  fi
  if is_mounted "$DEBUGFS"; then run mount -o "remount,gid=${d% *},mode=0${d#* }" "$DEBUGFS"; fi
  undo_group
  finish_undo
}

main() {
  parse_common "$@"
  if [ "$UNDO" = 1 ]; then undo; return; fi
  say "group:"
  ensure_group
  add_users
  local gid
  gid=$(getent group "$GROUP" | cut -d: -f3 || true)
  gid=${gid:-"<gid of $GROUP>"}
  say "tracefs now:"
  apply_now "$gid"
  say "at boot:"
  install_unit "$gid"
  say "sysctls: none needed (measured: docs/ebpf.md)"
  say "done: members of $GROUP can use --ebpf-attach tracefs (with CAP_BPF+CAP_PERFMON, see setup/grant_capabilities.sh)"
}

main "$@"

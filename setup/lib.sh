# Shared by the setup scripts: option parsing, dry-run aware actions, and the undo record.
# Every action prints what it does ("run:"), or with --dry-run what it would do ("would run:").
# shellcheck shell=bash
# shellcheck disable=SC2034 # DRY_RUN/UNDO/USERS are read by the scripts that source this file

DRY_RUN=0
UNDO=0
USERS=()
STATE_DIR=/var/lib/denet-pure

say() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "$PROG" "$*" >&2; exit 1; }

# run CMD ARGS...: runs it, or only prints it under --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then say "  would run: $*"; else say "  run: $*"; "$@"; fi
}

# write_file PATH MODE CONTENT: writes only when the content differs (idempotent).
write_file() {
  local path=$1 mode=$2 content=$3
  if [ -f "$path" ] && [ "$(cat "$path")" = "$content" ]; then say "  ok: $path is up to date"; return; fi
  if [ "$DRY_RUN" = 1 ]; then say "  would write: $path (mode $mode):"; printf '%s\n' "$content" | sed 's/^/    | /'; return; fi
  say "  write: $path (mode $mode)"
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.tmp.$$"
  chmod "$mode" "$path.tmp.$$"
  mv -f "$path.tmp.$$" "$path"
}

remove_file() {
  if [ -e "$1" ] || [ -L "$1" ]; then run rm -f "$1"; else say "  ok: $1 already absent"; fi
}

# The undo record: KEY=VALUE lines in $STATE_DIR/$STATE_NAME, written only on a real run.
state_file() { printf '%s/%s' "$STATE_DIR" "$STATE_NAME"; }
state_get() { if [ -f "$(state_file)" ]; then sed -n "s/^$1=//p" "$(state_file)" | tail -n 1; fi; }
state_set() {
  [ "$DRY_RUN" = 1 ] && return 0
  mkdir -p "$STATE_DIR"
  touch "$(state_file)"
  { grep -v "^$1=" "$(state_file)" || true; printf '%s=%s\n' "$1" "$2"; } >"$(state_file).tmp" && mv -f "$(state_file).tmp" "$(state_file)"
}

parse_common() {
  ORIG_ARGS="$*"
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) DRY_RUN=1 ;;
      --undo) UNDO=1 ;;
      --user) [ $# -ge 2 ] || die "--user needs a user name"; USERS+=("$2"); shift ;;
      --user=*) USERS+=("${1#--user=}") ;;
      --group) [ $# -ge 2 ] || die "--group needs a group name"; GROUP=$2; shift ;;
      --group=*) GROUP=${1#--group=} ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
  done
  if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then die "must run as root (sudo $0${ORIG_ARGS:+ $ORIG_ARGS}); --dry-run shows what it would do without root"; fi
  for u in "${USERS[@]}"; do id "$u" >/dev/null 2>&1 || die "no such user '$u'"; done
  if [ "$DRY_RUN" = 1 ]; then say "dry run: nothing will be changed"; fi
}

# ensure_group: creates $GROUP unless it exists (recorded, so --undo deletes only what we created).
ensure_group() {
  if getent group "$GROUP" >/dev/null; then say "  ok: group $GROUP exists"; return; fi
  run groupadd --system "$GROUP"
  state_set group_created "$GROUP"
}

add_users() {
  local u added
  for u in "${USERS[@]}"; do
    if id -nG "$u" | tr ' ' '\n' | grep -qx "$GROUP"; then say "  ok: $u is in group $GROUP"; continue; fi
    run usermod -a -G "$GROUP" "$u"
    added=$(state_get users_added)
    state_set users_added "${added:+$added }$u"
    say "  note: $u must log in again (or run: newgrp $GROUP) for the group to apply"
  done
}

undo_group() {
  local u created
  for u in $(state_get users_added); do
    if id -nG "$u" 2>/dev/null | tr ' ' '\n' | grep -qx "$GROUP"; then run gpasswd -d "$u" "$GROUP"; fi
  done
  created=$(state_get group_created)
  if [ -n "$created" ] && getent group "$created" >/dev/null; then run groupdel "$created"; else say "  ok: group $GROUP was not created by us; kept"; fi
}

# finish_undo: forgets the record, and the record's directory when nothing else is in it.
finish_undo() {
  if [ "$DRY_RUN" = 0 ]; then rm -f "$(state_file)"; rmdir "$STATE_DIR" 2>/dev/null || true; fi
  say "done"
}

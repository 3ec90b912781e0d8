#!/usr/bin/env bash
# Rebuilds the BPF object corpus in test/_lib/objects/ from public sources with Debian's clang.
# Not run by CI (the .o files are committed; CI has no network to fetch sources): run it by hand
# after changing the selection, then commit the objects and MANIFEST.tsv.
#
#   scripts/build-bpf-corpus.sh SRC_DIR [OUT_DIR]
#
# SRC_DIR holds one checkout per repository, named OWNER+NAME (cilium+ebpf, libbpf+libbpf-bootstrap,
# iovisor+bcc), each with a file COMMIT holding the commit it was taken from. Needs clang, bpftool
# (vmlinux.h is generated from the running kernel's BTF) and libbpf-dev (bpf_helpers.h).
# Only permissively licensed or dual-licensed sources are built: the objects are redistributed.
set -euo pipefail
src=${1:?usage: build-bpf-corpus.sh SRC_DIR [OUT_DIR]}
out=${2:-$(dirname "$0")/../test/_lib/objects}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$work/vmlinux.h"
manifest="$out/MANIFEST.tsv"
printf 'object\trepository\tcommit\tpath\tlicense\n' > "$manifest"
clangv=$(clang --version | head -n1)

# build REPO FILE OBJECT LICENSE CLANG_ARGS...
build() {
  local repo=$1 file=$2 obj=$3 license=$4; shift 4
  if clang "$@" -c "$src/$repo/$file" -o "$out/$obj" 2> "$work/err"; then
    # DWARF is most of the size and nothing reads it; .BTF and .BTF.ext stay.
    llvm-strip --strip-debug "$out/$obj"
    printf '%s\t%s\t%s\t%s\t%s\n' "$obj" "${repo/+//}" "$(cat "$src/$repo/COMMIT")" "$file" "$license" >> "$manifest"
  else
    echo "skip $repo/$file: $(head -c 300 "$work/err")" >&2
    rm -f "$out/$obj"
  fi
}

# cilium/ebpf testdata (MIT): the library's own ELF loader tests, self-contained (common.h).
for f in "$src"/cilium+ebpf/testdata/*.c; do
  b=$(basename "$f" .c)
  build cilium+ebpf "testdata/$b.c" "cilium-ebpf.$b.o" MIT -O2 -g -Wall -mcpu=v2 -target bpfel -I "$src/cilium+ebpf/testdata"
done
build cilium+ebpf testdata/loader.c cilium-ebpf.loader-nobtf.o MIT -O2 -g0 -D__NOBTF__ -mcpu=v2 -target bpfel -I "$src/cilium+ebpf/testdata"
build cilium+ebpf testdata/loader.c cilium-ebpf.loader-eb.o MIT -O2 -g -mcpu=v2 -target bpfeb -I "$src/cilium+ebpf/testdata"

# cilium/ebpf examples (MIT; their headers are BSD-2-Clause) and its CO-RE tests (btf/testdata).
for f in "$src"/cilium+ebpf/examples/*/*.c; do
  d=$(basename "$(dirname "$f")"); b=$(basename "$f" .c)
  build cilium+ebpf "examples/$d/$b.c" "cilium-ebpf.example-$d.o" MIT -O2 -g -Wall -target bpfel -D__TARGET_ARCH_x86 -I "$src/cilium+ebpf/examples/headers"
done
for f in "$src"/cilium+ebpf/btf/testdata/*.c; do
  b=$(basename "$f" .c)
  build cilium+ebpf "btf/testdata/$b.c" "cilium-ebpf.btf-$b.o" MIT -O2 -g -Wall -target bpfel -I "$src/cilium+ebpf/testdata"
done

# libbpf-bootstrap examples (the SPDX line of each, dual-licensed; the repository is BSD-3-Clause).
spdx() { { grep -m1 -o 'SPDX-License-Identifier: .*' "$1" || true; } | sed 's/SPDX-License-Identifier: //; s/ *\*\/$//'; }
for f in "$src"/libbpf+libbpf-bootstrap/examples/c/*.bpf.c; do
  b=$(basename "$f" .bpf.c)
  # Files without an SPDX line fall under the repository's LICENSE (BSD-3-Clause).
  lic=$(spdx "$f"); lic=${lic:-BSD-3-Clause}
  build libbpf+libbpf-bootstrap "examples/c/$b.bpf.c" "libbpf-bootstrap.$b.o" "$lic" \
    -O2 -g -target bpf -D__TARGET_ARCH_x86 -I "$work" -I "$src/libbpf+libbpf-bootstrap/examples/c"
done

# bcc libbpf-tools: the dual-licensed tools only (GPL-only ones are left out).
for f in "$src"/iovisor+bcc/libbpf-tools/*.bpf.c; do
  lic=$(spdx "$f")
  case "$lic" in *BSD*|*MIT*|*Apache*) ;; *) continue ;; esac
  b=$(basename "$f" .bpf.c)
  build iovisor+bcc "libbpf-tools/$b.bpf.c" "bcc.$b.o" "$lic" \
    -O2 -g -target bpf -D__TARGET_ARCH_x86 -I "$work" -I "$src/iovisor+bcc/libbpf-tools"
done
echo "built $(($(wc -l < "$manifest") - 1)) objects with $clangv into $out" >&2

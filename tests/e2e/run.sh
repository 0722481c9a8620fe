#!/usr/bin/env bash
# End-to-end proof in a real kernel: a Module.symvers rebuilt by `symvers dump` builds a module that
# the real Debian kernel loads, and a table with one CRC altered builds one that it refuses; and
# `symvers check` predicts both outcomes.
#
#   tests/e2e/run.sh [--work DIR] [--keep]
#
# Steps:
#   1. fetch the Debian bookworm amd64 kernel (6.1, built with gcc-12 like this machine's compiler)
#      with its headers and kbuild, through ../shared/fetch-debian-kernel --kbuild (or the path in
#      $FETCH_DEBIAN_KERNEL);
#   2. rebuild Module.symvers with `symvers dump`, put it in a private copy of the headers tree,
#      build tests/e2e/module/ours.c, which calls _printk (vmlinux) and crc_itu_t (lib/crc-itu-t.ko);
#   3. boot the kernel under qemu-system-x86_64 (TCG, no KVM needed) with a busybox initramfs that
#      insmods crc-itu-t.ko and ours.ko; read the verdict from the serial console;
#   4. repeat with crc_itu_t's CRC altered in the table: the kernel must print "disagrees about
#      version of symbol crc_itu_t" and refuse the module;
#   5. repeat with crc_itu_t's version record removed from the good module: Debian's kernel refuses
#      it ("no symbol version for crc_itu_t"), as `symvers check` predicts from the kernel's
#      banner (Debian's build) without being told;
#   6. an out-of-tree pair (tests/e2e/pair: symvers_e2e_user imports symvers_e2e_base's export),
#      built against the same headers: `symvers check` of the pair says both load (the user's
#      import resolved in the set), and the first boot loads both; against Debian trixie's kernel
#      (fetched the same way, no headers) `symvers check` and `symvers weak-modules` say they
#      need a rebuild, and why (module_layout).
#
# Needs (installed from the distribution's packages when missing, as root):
#   qemu-system-x86 busybox-static cpio gcc-12 make
# On an image that ships bookworm-backports' qemu-utils 10.x, qemu-system-x86 7.2 conflicts with it:
# the script removes qemu-utils first, in its own apt run (a docker-clean apt hook deletes the
# downloaded .debs after each dpkg run, so one transaction that both removes and installs fails).
# Nothing else is downloaded; the kernel comes from the Debian archive the system's apt uses.
#
# The headers' Makefiles name /usr/src/linux-headers-REL-common by absolute path. Instead of
# creating that path on the system, the private copy's Makefile includes the cached common tree
# directly, so the run leaves the system's /usr/src untouched.
#
# Output: PASS/FAIL lines, then "N passed, N failed". Exit status 0 only when nothing failed.
# Takes about 1 minute once the kernels are cached (three ~10 s TCG boots, three module builds;
# the pair adds about 15 s: one build, no boot of its own, trixie's table rebuilt twice).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work="${TMPDIR:-/tmp}/symvers-e2e"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
die() { echo "FAIL: $*"; failed=$((failed + 1)); finish; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$keep" = 1 ] || rm -rf "$work"
  [ "$failed" = 0 ] && exit 0 || exit 1
}

# --- 0. tools -------------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v gcc-12 >/dev/null || need_pkgs+=(gcc-12)
command -v make >/dev/null || need_pkgs+=(make)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "installing from the distribution: ${need_pkgs[*]}"
  [ "$(id -u)" = 0 ] || die "need root to install ${need_pkgs[*]} (or install them first)"
  export DEBIAN_FRONTEND=noninteractive
  apt="apt-get -o DPkg::Lock::Timeout=600 -q -y"
  if [[ " ${need_pkgs[*]} " == *" qemu-system-x86 "* ]] && dpkg -s qemu-utils >/dev/null 2>&1; then
    $apt remove qemu-utils >/dev/null || die "could not remove the conflicting qemu-utils"
  fi
  $apt install "${need_pkgs[@]}" >"$work.apt.log" 2>&1 || {
    tail -5 "$work.apt.log"
    die "apt-get install ${need_pkgs[*]} failed (log: $work.apt.log)"
  }
  rm -f "$work.apt.log"
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is not available"
pass "tools: qemu-system-x86_64, busybox, cpio, gcc-12"

rm -rf "$work"
mkdir -p "$work"

# --- 1. the kernel --------------------------------------------------------------------------
fetch="${FETCH_DEBIAN_KERNEL:-$repo/../shared/fetch-debian-kernel}"
[ -x "$fetch" ] || die "fetch-debian-kernel not found at $fetch (set FETCH_DEBIAN_KERNEL)"
env_text=$("$fetch" --suite bookworm --arch amd64 --kbuild 2>"$work/fetch.log") || {
  tail -3 "$work/fetch.log"
  die "fetch-debian-kernel --suite bookworm --arch amd64 --kbuild failed"
}
eval "$env_text"
common="$KROOT/usr/src/linux-headers-${KRELEASE%-amd64}-common"
kbuild=$(ls -d "$KROOT"/usr/lib/linux-kbuild-* 2>/dev/null | head -1)
[ -f "$KIMAGE" ] && [ -d "$KHEADERS" ] && [ -f "$common/Makefile" ] && [ -d "$kbuild/scripts" ] ||
  die "the fetched kernel lacks image, headers, headers-common or kbuild"
provider=$(find "$KMODULES" -name 'crc-itu-t.ko*' | head -1)
[ -n "$provider" ] || die "lib/crc-itu-t.ko not found in $KMODULES"
pass "kernel $KRELEASE fetched with headers and kbuild"

# --- 2. symvers dump and the build tree -----------------------------------------------------
cd "$repo" || die "cannot enter $repo"
cargo build --release 2>"$work/cargo.log" || { tail -20 "$work/cargo.log"; die "cargo build failed"; }
symvers="$repo/target/release/symvers"   # the build scripts/test made
"$symvers" dump --image "$KIMAGE" --modules "$KMODULES" -o "$work/Module.symvers" ||
  die "symvers dump failed"
if diff -q <(sort "$work/Module.symvers") <(sort "$KSYMVERS") >/dev/null; then
  pass "symvers dump equals Debian's Module.symvers ($(wc -l <"$work/Module.symvers") lines)"
else
  fail "symvers dump differs from Debian's Module.symvers"
fi
good_crc=$(awk -F'\t' '$2 == "crc_itu_t" {print $1}' "$work/Module.symvers")
[ -n "$good_crc" ] || die "crc_itu_t is not in the rebuilt table"
# Flip the lowest bit of the CRC: a different 32-bit value, still valid hex.
bad_crc=$(printf '0x%08x' $(( good_crc ^ 1 )))
awk -F'\t' -v OFS='\t' -v bad="$bad_crc" '$2 == "crc_itu_t" {$1 = bad} {print}' \
  "$work/Module.symvers" >"$work/Module.symvers.altered"

# A private headers tree: the package's own files, its Makefile pointed at the cached common tree
# (instead of /usr/src/…), its scripts/tools links at the cached kbuild.
make_headers() { # $1 = destination, $2 = Module.symvers to use
  cp -a "$KHEADERS" "$1"
  printf 'include %s/Makefile\n' "$common" >"$1/Makefile"
  rm -f "$1/scripts" "$1/tools"
  ln -s "$kbuild/scripts" "$1/scripts"
  ln -s "$kbuild/tools" "$1/tools"
  cp "$2" "$1/Module.symvers"
}

build_module() { # $1 = name (good|bad), $2 = Module.symvers
  local hdr="$work/headers-$1" src="$work/module-$1"
  make_headers "$hdr" "$2"
  mkdir -p "$src"
  cp "$here/module/ours.c" "$here/module/Kbuild" "$src/"
  make -C "$hdr" M="$src" modules >"$src/build.log" 2>&1 || { tail -20 "$src/build.log"; return 1; }
  [ -f "$src/ours.ko" ]
}

build_module good "$work/Module.symvers" && pass "ours.ko built against the rebuilt table" ||
  die "building ours.ko against the rebuilt table failed"
build_module bad "$work/Module.symvers.altered" && pass "ours.ko built against the altered table" ||
  die "building ours.ko against the altered table failed"
recorded=$("$symvers" versions "$work/module-bad/ours.ko" | awk -F'\t' '$2 == "crc_itu_t" {print $1}')
[ "$recorded" = "$bad_crc" ] && pass "the altered build recorded crc_itu_t $bad_crc (table: $good_crc)" ||
  fail "the altered build recorded crc_itu_t '$recorded', expected $bad_crc"

# --- 3/4. predictions, then the real kernel --------------------------------------------------
predict() { # $1 = name, $2 = expected exit code of symvers check
  # No --strict-versions: the banner of Debian's build says it.
  "$symvers" check --image "$KIMAGE" --modules "$KMODULES" \
    "$work/module-$1/ours.ko" >"$work/check-$1.txt" 2>&1
  local rc=$?
  sed 's/^/    /' "$work/check-$1.txt"
  [ "$rc" = "$2" ]
}
predict good 0 && pass "symvers check predicts the good module loads" ||
  fail "symvers check did not predict the good module loads"
predict bad 1 && grep -q "disagrees about version of symbol crc_itu_t" "$work/check-bad.txt" &&
  pass "symvers check predicts the altered module is refused (disagrees about crc_itu_t)" ||
  fail "symvers check did not predict the altered module is refused"

# --- 6a. the out-of-tree pair, built against the same headers -------------------------------
mkdir -p "$work/pair"
cp "$here/pair/Kbuild" "$here/pair/"*.c "$work/pair/"
if make -C "$work/headers-good" M="$work/pair" modules >"$work/pair/build.log" 2>&1 &&
   [ -f "$work/pair/symvers_e2e_user.ko" ]; then
  pass "the out-of-tree pair (symvers_e2e_base, symvers_e2e_user) built against the rebuilt table"
else
  tail -20 "$work/pair/build.log"
  fail "building the out-of-tree pair failed"
fi
"$symvers" check --image "$KIMAGE" --modules "$KMODULES" \
  "$work/pair/symvers_e2e_user.ko" "$work/pair/symvers_e2e_base.ko" >"$work/check-pair.txt" 2>&1
rc=$?
sed 's/^/    /' "$work/check-pair.txt"
if [ "$rc" = 0 ] && grep -q "symvers_e2e_user.ko: would load (.*from the set: needs symvers_e2e_base)" "$work/check-pair.txt" &&
   grep -q "symvers_e2e_base.ko: would load" "$work/check-pair.txt"; then
  pass "symvers check predicts the pair loads (the user's import resolved in the set)"
else
  fail "symvers check did not predict that the pair loads"
fi

make_initramfs() { # $1 = name
  local dir="$work/initramfs-$1"
  mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev"
  cp /bin/busybox "$dir/bin/busybox"
  case "$provider" in
    *.ko) cp "$provider" "$dir/crc-itu-t.ko" ;;
    *) echo "provider module is compressed: $provider" >&2; return 1 ;;
  esac
  cp "$work/module-$1/ours.ko" "$dir/ours.ko"
  # The out-of-tree pair rides along in the first boot: the lower module first, as modprobe
  # would load it.
  if [ "$1" = good ] && [ -f "$work/pair/symvers_e2e_user.ko" ]; then
    cp "$work/pair/symvers_e2e_base.ko" "$work/pair/symvers_e2e_user.ko" "$dir/"
  fi
  cat >"$dir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
echo "E2E: start"
/bin/busybox insmod /crc-itu-t.ko && echo "E2E: provider loaded"
if /bin/busybox insmod /ours.ko; then echo "E2E: ours loaded"; else echo "E2E: ours refused"; fi
/bin/busybox grep -q '^ours ' /proc/modules && echo "E2E: ours in /proc/modules"
if [ -f /symvers_e2e_user.ko ]; then
  /bin/busybox insmod /symvers_e2e_base.ko && echo "E2E: base loaded"
  /bin/busybox insmod /symvers_e2e_user.ko && echo "E2E: user loaded"
  /bin/busybox grep -q '^symvers_e2e_user ' /proc/modules && echo "E2E: user in /proc/modules"
fi
echo "E2E: end"
/bin/busybox poweroff -f
EOF
  chmod +x "$dir/init"
  (cd "$dir" && find . | cpio -o -H newc --quiet) >"$work/initramfs-$1.cpio"
}

boot() { # $1 = name; writes $work/console-$1.txt
  make_initramfs "$1" || return 1
  timeout 300 qemu-system-x86_64 -m 512 -smp 1 -nographic -no-reboot \
    -kernel "$KIMAGE" -initrd "$work/initramfs-$1.cpio" \
    -append "console=ttyS0 panic=-1 loglevel=7" </dev/null >"$work/console-$1.txt" 2>&1
  grep -q "E2E: end" "$work/console-$1.txt"
}

if boot good; then
  grep -q "E2E: provider loaded" "$work/console-good.txt" &&
    pass "kernel loaded the provider crc-itu-t.ko" || fail "kernel did not load crc-itu-t.ko"
  if grep -q "E2E: ours loaded" "$work/console-good.txt" &&
     grep -q "E2E: ours in /proc/modules" "$work/console-good.txt" &&
     grep -q "symvers-e2e: ours loaded" "$work/console-good.txt"; then
    pass "kernel loaded ours.ko built against the rebuilt table"
  else
    grep -E "ours|E2E|version" "$work/console-good.txt" | head -20
    fail "kernel did not load ours.ko built against the rebuilt table"
  fi
  if grep -q "E2E: base loaded" "$work/console-good.txt" &&
     grep -q "E2E: user loaded" "$work/console-good.txt" &&
     grep -q "E2E: user in /proc/modules" "$work/console-good.txt" &&
     grep -q "symvers-e2e: user loaded, answer=42" "$work/console-good.txt"; then
    pass "kernel loaded the out-of-tree pair (symvers_e2e_base, then symvers_e2e_user)"
  else
    grep -E "symvers_e2e|E2E|version" "$work/console-good.txt" | head -20
    fail "kernel did not load the out-of-tree pair"
  fi
else
  tail -20 "$work/console-good.txt"
  fail "the first boot did not reach the end of its init script"
fi

if boot bad; then
  if grep -q "E2E: ours refused" "$work/console-bad.txt" &&
     grep -q "ours: disagrees about version of symbol crc_itu_t" "$work/console-bad.txt"; then
    pass "kernel refused ours.ko built against the altered table (disagrees about version of symbol crc_itu_t)"
  else
    grep -E "ours|E2E|version" "$work/console-bad.txt" | head -20
    fail "kernel did not refuse ours.ko built against the altered table"
  fi
else
  tail -20 "$work/console-bad.txt"
  fail "the second boot did not reach the end of its init script"
fi

# --- 5. a missing symbol version --------------------------------------------------------------
# Rename crc_itu_t's __versions record (to crc_itu_x) in a copy of the good module: the kernel then
# finds no version for crc_itu_t. Mainline only warns ("no symbol version for"); Debian's kernels
# refuse (debian/patches: "module: Disable matching missing version CRC"), which is what
# `symvers check` predicts from the kernel's banner (Debian's build) without being told.
cp "$work/module-good/ours.ko" "$work/ours-nover.ko"
# The __versions record: the name, NUL, then NUL padding to the 64-byte record's end.
offset=$(grep -obUaP 'crc_itu_t\x00{10}' "$work/ours-nover.ko" | head -1 | cut -d: -f1)
if [ -n "$offset" ]; then
  printf 'x' | dd of="$work/ours-nover.ko" bs=1 seek=$((offset + 8)) conv=notrunc status=none
fi
if "$symvers" versions "$work/ours-nover.ko" | grep -q $'\tcrc_itu_x$'; then
  mkdir -p "$work/module-nover"
  cp "$work/ours-nover.ko" "$work/module-nover/ours.ko"
  predict nover 1 && grep -q "ours.ko: would NOT load" "$work/check-nover.txt" &&
    grep -q "error: no symbol version for crc_itu_t" "$work/check-nover.txt" &&
    pass "symvers check (strictness read from the banner) predicts a module without crc_itu_t's version is refused" ||
    fail "symvers check did not predict the refusal of the module without crc_itu_t's version"
  if boot nover && grep -q "E2E: ours refused" "$work/console-nover.txt" &&
     grep -q "ours: no symbol version for crc_itu_t" "$work/console-nover.txt"; then
    pass "kernel refused the module without crc_itu_t's version (no symbol version for crc_itu_t)"
  else
    grep -E "ours|E2E|version" "$work/console-nover.txt" | head -20
    fail "kernel did not refuse the module without crc_itu_t's version"
  fi
else
  fail "could not rename crc_itu_t's __versions record"
fi

# --- 6b. the pair against Debian trixie's kernel: a rebuild is needed ------------------------
if trixie_env=$("$fetch" --suite trixie --arch amd64 2>"$work/fetch-trixie.log"); then
  trixie=$(eval "$trixie_env"; printf '%s\n%s\n%s\n' "$KRELEASE" "$KIMAGE" "$KMODULES")
  { read -r trel; read -r timage; read -r tmodules; } <<<"$trixie"
  "$symvers" check --image "$timage" --modules "$tmodules" \
    "$work/pair/symvers_e2e_user.ko" "$work/pair/symvers_e2e_base.ko" >"$work/check-trixie.txt" 2>&1
  rc=$?
  sed 's/^/    /' "$work/check-trixie.txt"
  [ "$rc" = 1 ] && grep -q "symvers_e2e_base.ko: would NOT load" "$work/check-trixie.txt" &&
    grep -q "error: disagrees about version of symbol module_layout" "$work/check-trixie.txt" &&
    pass "symvers check says the pair would not load into $trel (module_layout)" ||
    fail "symvers check did not refuse the pair for $trel"
  # weak-modules: the pair as the out-of-tree modules of a modules folder, against trixie
  # installed in the fetcher's unpacked root (read only, nothing copied). A root made of
  # absolute links into the cache would not do: -b resolves absolute links inside the root,
  # as the system booted from it would.
  wroot="${timage%/boot/*}"
  mkdir -p "$work/from/updates/dkms"
  cp "$work/pair/"*.ko "$work/from/updates/dkms/"
  "$symvers" weak-modules -b "$wroot" --from-modules "$work/from" --to "$trel" \
    >"$work/weak-modules.txt" 2>&1
  rc=$?
  sed 's/^/    /' "$work/weak-modules.txt"
  [ "$rc" = 1 ] &&
    grep -q "updates/dkms/symvers_e2e_user.ko: needs a rebuild: disagrees about version of symbol module_layout" "$work/weak-modules.txt" &&
    pass "symvers weak-modules says the pair needs a rebuild for $trel, and why" ||
    fail "symvers weak-modules did not say the pair needs a rebuild for $trel"
else
  tail -3 "$work/fetch-trixie.log"
  fail "fetch-debian-kernel --suite trixie --arch amd64 failed"
fi

finish

#!/usr/bin/env bash
# End-to-end proof of the source-tree route in a real kernel: Debian bookworm's own kernel source
# (linux-source-6.1, the same upload as the image), prepared by `symvers prepare` for the Debian
# kernel from nothing but its image, its modules and the image package's /boot/config-REL (no
# headers package), builds a module that the real kernel loads; and the ways it can go wrong show.
#
#   tests/e2e/prepare.sh [--work DIR] [--keep]
#
# Steps:
#   1. fetch the Debian bookworm amd64 kernel and its source package through
#      ../shared/fetch-debian-kernel --kbuild --source (or $FETCH_DEBIAN_KERNEL); unpack the source;
#   2. `symvers prepare SOURCE -o BUILD --image … --modules … --config boot/config-REL`: the tree
#      must report the kernel's release (`make kernelrelease`), carry a Module.symvers equal to
#      Debian's own (as a set of lines), and the command must print the make line to use;
#   3. build tests/e2e/module/ours.c (calls _printk from vmlinux and crc_itu_t from
#      lib/crc-itu-t.ko) with that line; its vermagic must be the kernel's;
#   4. the same module built with the table moved away (kbuild: "Module.symvers is missing"):
#      `symvers check --strict-versions` must predict that the kernel refuses it;
#   5. boot the kernel under qemu with a busybox initramfs: the first module loads, the second is
#      refused ("no symbol version for …", Debian's kernels refuse what mainline only warns about);
#   6. `symvers prepare` must refuse a release that contradicts the image's banner;
#   7. the same tree re-prepared by kbuild alone (`make -C SOURCE O=BUILD modules_prepare`, without
#      the KERNELVERSION that symvers prepare sets): the release falls back to the source's
#      6.1.176. The module built there has that release in its vermagic, which this kernel's
#      loader ignores (with CONFIG_MODVERSIONS only the part after the release is compared), so
#      it loads, as `symvers check` predicts; the test records that fact (a wrong release breaks
#      modprobe's paths and modules_install, not the load itself).
#
# Needs (installed from the distribution's packages when missing, as root): qemu-system-x86
# busybox-static cpio gcc-12 make flex bison bc libelf-dev libssl-dev xz-utils. See run.sh for the
# qemu-utils conflict on images with bookworm-backports.
#
# Cost (2 shared cores, kernel already cached by run.sh): the source package is a 139 MB
# download; unpacking it takes 25-50 s and 1.3 GB, `symvers prepare` 55-75 s (modules_prepare),
# the module builds, the second modules_prepare and three TCG boots about 65 s, deleting the
# tree at the end up to 50 s: 3 to 4 minutes in all (216 s measured at a load average of 7).
#
# Output: PASS/FAIL lines, then "N passed, N failed". Exit status 0 only when nothing failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work="${TMPDIR:-/tmp}/symvers-e2e-prepare"
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,37p' "$0"; exit 0 ;;
    *) echo "prepare.sh: unknown argument $1" >&2; exit 2 ;;
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
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }

# --- 0. tools -------------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx insmod || need_pkgs+=(busybox-static)
for tool in cpio gcc-12 make flex bison bc xz; do
  command -v "$tool" >/dev/null || need_pkgs+=("$([ "$tool" = xz ] && echo xz-utils || echo "$tool")")
done
[ -f /usr/include/libelf.h ] || need_pkgs+=(libelf-dev)
[ -f /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
mkdir -p "$(dirname "$work")"
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
pass "tools: qemu-system-x86_64, busybox, cpio, gcc-12, make, flex, bison, bc, libelf, openssl"

rm -rf "$work"
mkdir -p "$work"

# --- 1. the kernel and its source -----------------------------------------------------------
fetch="${FETCH_DEBIAN_KERNEL:-$repo/../shared/fetch-debian-kernel}"
[ -x "$fetch" ] || die "fetch-debian-kernel not found at $fetch (set FETCH_DEBIAN_KERNEL)"
# --kbuild too: the fetcher's cache keeps one set of packages per kernel, and run.sh needs kbuild.
env_text=$("$fetch" --suite bookworm --arch amd64 --kbuild --source 2>"$work/fetch.log") || {
  tail -3 "$work/fetch.log"
  die "fetch-debian-kernel --suite bookworm --arch amd64 --kbuild --source failed"
}
eval "$env_text"
config="$KROOT/boot/config-$KRELEASE"
[ -f "$KIMAGE" ] && [ -d "$KMODULES" ] && [ -f "$config" ] && [ -f "$KSOURCE" ] ||
  die "the fetched kernel lacks image, modules, boot/config-$KRELEASE or the source tarball"
provider=$(find "$KMODULES" -name 'crc-itu-t.ko*' | head -1)
[ -n "$provider" ] || die "lib/crc-itu-t.ko not found in $KMODULES"
pass "kernel $KRELEASE and $(basename "$KSOURCE") ($(du -m "$KSOURCE" | cut -f1) MB) fetched ($(elapsed))"

tar -xf "$KSOURCE" -C "$work" || die "unpacking $KSOURCE failed"
src=$(ls -d "$work"/linux-source-* 2>/dev/null | head -1)
[ -f "$src/Makefile" ] || die "no source tree in $KSOURCE"
pass "source unpacked: $(sed -n 's/^SUBLEVEL = //p' "$src/Makefile" | sed 's/^/6.1./') ($(elapsed))"

# --- 2. symvers prepare ---------------------------------------------------------------------
cd "$repo" || die "cannot enter $repo"
cargo build --quiet 2>"$work/cargo.log" || { tail -20 "$work/cargo.log"; die "cargo build failed"; }
symvers="$repo/target/debug/symvers"
build="$work/build"
t0=$(date +%s)
"$symvers" prepare "$src" -o "$build" --image "$KIMAGE" --modules "$KMODULES" --config "$config" \
  >"$work/prepare.out" 2>"$work/prepare.err"
rc=$?
grep '^symvers:' "$work/prepare.err" | sed 's/^/    /'
[ "$rc" = 0 ] || { tail -20 "$work/prepare.err"; die "symvers prepare failed (exit $rc)"; }
pass "symvers prepare: exit 0 in $(( $(date +%s) - t0 )) s"
line=$(tail -1 "$work/prepare.out")
[ "$line" = "make -C $build M=\$PWD modules" ] && pass "it prints the make line: $line" ||
  fail "unexpected make line: '$line'"
made=$(make -s -C "$build" kernelrelease 2>/dev/null)
[ "$made" = "$KRELEASE" ] && pass "make kernelrelease in the tree prints $made" ||
  fail "make kernelrelease prints '$made', not $KRELEASE"
if diff -q <(sort "$build/Module.symvers") <(sort "$KSYMVERS") >/dev/null; then
  pass "the tree's Module.symvers equals Debian's ($(wc -l <"$build/Module.symvers") lines)"
else
  fail "the tree's Module.symvers differs from Debian's"
fi
code=$(sed -n 's/^#define LINUX_VERSION_CODE //p' "$build/include/generated/uapi/linux/version.h")
debian_code=$(sed -n 's/^#define LINUX_VERSION_CODE //p' "$KHEADERS/include/generated/uapi/linux/version.h")
[ -n "$code" ] && [ "$code" = "$debian_code" ] &&
  pass "LINUX_VERSION_CODE $code, as in Debian's headers" ||
  fail "LINUX_VERSION_CODE '$code', Debian's headers '$debian_code'"

# --- 3/4. the modules ---------------------------------------------------------------------
build_module() { # $1 = name; runs the printed make line in a copy of tests/e2e/module
  local dir="$work/module-$1"
  mkdir -p "$dir"
  cp "$here/module/ours.c" "$here/module/Kbuild" "$dir/"
  (cd "$dir" && eval "$line") >"$dir/build.log" 2>&1 || { tail -20 "$dir/build.log"; return 1; }
  [ -f "$dir/ours.ko" ]
}
vermagic_of() { tr '\0' '\n' <"$1" | sed -n 's/^vermagic=//p' | head -1; }
kernel_vermagic=$(vermagic_of "$provider")

build_module good && pass "ours.ko built against the prepared tree" || die "building ours.ko failed"
got=$(vermagic_of "$work/module-good/ours.ko")
[ "$got" = "$kernel_vermagic" ] && pass "its vermagic is the kernel's: '$got'" ||
  fail "its vermagic '$got' is not the kernel's '$kernel_vermagic'"

mv "$build/Module.symvers" "$build/Module.symvers.aside"
build_module notable && pass "ours.ko built without the table" || fail "building ours.ko without the table failed"
mv "$build/Module.symvers.aside" "$build/Module.symvers"
grep -q 'Module.symvers is missing' "$work/module-notable/build.log" &&
  pass "kbuild warned: Module.symvers is missing" || fail "kbuild did not warn about the missing table"

predict() { # $1 = name, $2 = expected exit code of symvers check
  "$symvers" check --image "$KIMAGE" --modules "$KMODULES" --strict-versions \
    "$work/module-$1/ours.ko" >"$work/check-$1.txt" 2>&1
  local rc=$?
  sed 's/^/    /' "$work/check-$1.txt"
  [ "$rc" = "$2" ]
}
predict good 0 && pass "symvers check predicts the module loads" ||
  fail "symvers check did not predict the module loads"
predict notable 1 && grep -q "no symbol version for" "$work/check-notable.txt" &&
  pass "symvers check predicts the module built without the table is refused" ||
  fail "symvers check did not predict the refusal of the module built without the table"

# --- 5. the real kernel -----------------------------------------------------------------------
make_initramfs() { # $1 = name
  local dir="$work/initramfs-$1"
  mkdir -p "$dir/bin" "$dir/proc" "$dir/sys" "$dir/dev"
  cp /bin/busybox "$dir/bin/busybox"
  case "$provider" in
    *.ko) cp "$provider" "$dir/crc-itu-t.ko" ;;
    *) echo "provider module is compressed: $provider" >&2; return 1 ;;
  esac
  cp "$work/module-$1/ours.ko" "$dir/ours.ko"
  cat >"$dir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
echo "E2E: start"
/bin/busybox insmod /crc-itu-t.ko && echo "E2E: provider loaded"
if /bin/busybox insmod /ours.ko; then echo "E2E: ours loaded"; else echo "E2E: ours refused"; fi
/bin/busybox grep -q '^ours ' /proc/modules && echo "E2E: ours in /proc/modules"
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

loaded() { # $1 = name
  grep -q "E2E: ours loaded" "$work/console-$1.txt" &&
    grep -q "E2E: ours in /proc/modules" "$work/console-$1.txt" &&
    grep -q "symvers-e2e: ours loaded" "$work/console-$1.txt"
}

if boot good; then
  if loaded good; then
    pass "the kernel loaded ours.ko built against the prepared tree"
  else
    grep -E "ours|E2E|version" "$work/console-good.txt" | head -20
    fail "the kernel did not load ours.ko built against the prepared tree"
  fi
else
  tail -20 "$work/console-good.txt"
  fail "the first boot did not reach the end of its init script"
fi

if boot notable; then
  if grep -q "E2E: ours refused" "$work/console-notable.txt" &&
     grep -q "ours: no symbol version for" "$work/console-notable.txt"; then
    pass "the kernel refused ours.ko built without the table ($(grep -o 'no symbol version for [a-z_]*' "$work/console-notable.txt" | head -1))"
  else
    grep -E "ours|E2E|version" "$work/console-notable.txt" | head -20
    fail "the kernel did not refuse ours.ko built without the table"
  fi
else
  tail -20 "$work/console-notable.txt"
  fail "the second boot did not reach the end of its init script"
fi

# --- 6. a release that contradicts the image -------------------------------------------------
"$symvers" prepare "$src" -o "$work/build-wrong" --image "$KIMAGE" --modules "$KMODULES" \
  --config "$config" --release 6.1.0-99-amd64 >"$work/wrong.out" 2>"$work/wrong.err"
rc=$?
if [ "$rc" = 2 ] && [ ! -s "$work/wrong.out" ] &&
   grep -q "the image is release $KRELEASE (its banner), not 6.1.0-99-amd64" "$work/wrong.err"; then
  pass "symvers prepare refuses --release 6.1.0-99-amd64 for the $KRELEASE image"
else
  cat "$work/wrong.err"
  fail "symvers prepare did not refuse a release that contradicts the image (exit $rc)"
fi

# --- 7. kbuild's own release -------------------------------------------------------------------
# modules_prepare run from the source tree with O= reads the source's Makefile, not BUILD's, so
# the KERNELVERSION that symvers prepare keeps there does not apply: the release is the source's.
make -C "$src" O="$build" -j "$(nproc)" modules_prepare >"$work/reprepare.log" 2>&1 ||
  { tail -10 "$work/reprepare.log"; fail "make -C SOURCE O=BUILD modules_prepare failed"; }
base=$(make -s -C "$build" kernelrelease 2>/dev/null)
[ "$base" = "6.1.$(sed -n 's/^SUBLEVEL = //p' "$src/Makefile")" ] &&
  pass "re-prepared by kbuild alone, make kernelrelease prints $base (not $KRELEASE)" ||
  fail "re-prepared by kbuild alone, make kernelrelease prints '$base'"
line="make -C $build M=\$PWD modules"
if build_module wrongrel; then
  got=$(vermagic_of "$work/module-wrongrel/ours.ko")
  [ "$got" = "$base ${kernel_vermagic#* }" ] && pass "that module's vermagic names $base: '$got'" ||
    fail "that module's vermagic is '$got'"
  predict wrongrel 0 && pass "symvers check predicts it loads all the same (the loader skips the release with CRCs)" ||
    fail "symvers check did not predict the load of the module with the source's release"
  if boot wrongrel && loaded wrongrel; then
    pass "the kernel loaded it: with CONFIG_MODVERSIONS only modprobe's paths and strict tools see the release"
  else
    grep -E "ours|E2E|version|magic" "$work/console-wrongrel.txt" | head -20
    fail "the kernel did not load the module with the source's release"
  fi
else
  fail "building ours.ko in the tree with kbuild's release failed"
fi

echo "total time: $(elapsed)"
finish

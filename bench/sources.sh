#!/bin/bash
# What --extra-repository and --host add to a build of
# testdata/packages/hello-c, side by side in one run: the install phase and
# the build phase of a native build (the reference), of one with a local
# flat repository made here (trusted=yes), and of a cross build for arm64;
# each with its layer reused (one untimed build first) and with
# --no-layers. Prints the times and each install phase's ratio to the
# native one; it never fails on a time.
#
# usage: bench/sources.sh [HOSTARCH]   (as root; uses the shared test root)
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-arm64}
export PKGBOX_STORE=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
[ -d "$PKGBOX_STORE/roots/test" ] || { echo "bench: no test root in $PKGBOX_STORE (run the tests once)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/pkgbox-bench-sources.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
go build -o "$work/pkgbox" ./cmd/pkgbox

mkdir -p "$work/pkg/DEBIAN" "$work/repo"
printf 'Package: pkgbox-bench-dep\nVersion: 1.0\nArchitecture: all\nMaintainer: pkgbox bench <pkgbox@example.invalid>\nDescription: bench\n' > "$work/pkg/DEBIAN/control"
dpkg-deb --root-owner-group --build "$work/pkg" "$work/repo/pkgbox-bench-dep_1.0_all.deb" >/dev/null
(cd "$work/repo" && apt-ftparchive packages . > Packages && apt-ftparchive release . > "$work/Release" && mv "$work/Release" .)

# phase NAME FILE: the seconds of phase NAME in a build's summary.
phase() { sed -n "s/^  $1 *\([0-9.]*\)\(m\?s\) .*/\1 \2/p" "$2" | awk '{ print ($2 == "ms") ? $1 / 1000 : $1 }'; }

declare -A inst bld
for mode in native extra cross; do
	case $mode in
	native) args=() ;;
	extra) args=(--extra-repository "deb [trusted=yes] file://$work/repo ./") ;;
	cross) args=(--host "$host") ;;
	esac
	for run in warm layer fresh; do
		d=$(mktemp -d "$work/b.XXXX")
		cp -a testdata/packages/hello-c "$d/"
		flags=()
		[ $run = fresh ] && flags=(--no-layers)
		"$work/pkgbox" build --root test "${flags[@]}" "${args[@]}" "$d/hello-c" > "$d/out" 2>&1 ||
			{ echo "bench: $mode build failed:" >&2; tail -20 "$d/out" >&2; exit 1; }
		inst[$mode-$run]=$(phase "install build dependencies" "$d/out")
		bld[$mode-$run]=$(phase build "$d/out")
	done
done
printf '%-8s %-14s %10s %10s %16s\n' mode layer install build 'install/native'
for mode in native extra cross; do
	for run in layer fresh; do
		ratio=$(awk -v a="${inst[$mode-$run]}" -v b="${inst[native-$run]}" 'BEGIN { printf "%.2f", a / b }')
		printf '%-8s %-14s %9.2fs %9.2fs %16s\n' $mode "$([ $run = layer ] && echo reused || echo --no-layers)" \
			"${inst[$mode-$run]}" "${bld[$mode-$run]}" "$ratio"
	done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

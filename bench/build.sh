#!/bin/bash
# What a build costs beyond dpkg-buildpackage itself, side by side in one
# run on testdata/packages/hello-c, or on a .dsc (Debian's hello, say):
#   floor   dpkg-buildpackage directly in a copy of the root that already
#           has the build dependencies (unshare + chroot, nothing else);
#   pkgbox  pkgbox build, apt cache warm (one untimed build first), which
#           reuses the build-dependency layer the warm-up build made;
#   first   pkgbox build making the layer, as a first build does: the
#           layer the warm-up made is removed (untimed) before each run;
#   fresh   pkgbox build --no-layers: the dependencies installed each time;
#   sbuild  sbuild in unshare mode with its default apt settings (its
#           tarball keeps no package lists), from a buildd tarball made by mmdebstrap
#           of the same suite, as an unprivileged user with subordinate ids.
# Prints each total and each overhead (total minus the floor), and the ratio
# of the overheads; it never fails on a time.
#
# usage: [NOCHECK=1] bench/build.sh [RUNS [DSC]]   (as root; uses the shared test root)
#   e.g. bench/build.sh 3 /var/tmp/pkgbox-test-2/cache/source/bookworm-amd64/files/hello_2.10-3.dsc
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export PKGBOX_STORE=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
root=$PKGBOX_STORE/roots/test
[ -d "$root" ] || { echo "bench: no test root in $PKGBOX_STORE (run the tests once)" >&2; exit 1; }
suite=$(sed -n 's/^ *"suite": "\(.*\)",$/\1/p' "$PKGBOX_STORE/roots/test.json")
mirror=$(sed -n 's/^ *"mirror": "\(.*\)",$/\1/p' "$PKGBOX_STORE/roots/test.json")
arch=$(dpkg --print-architecture)
command -v sbuild >/dev/null && command -v mmdebstrap >/dev/null ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends sbuild mmdebstrap uidmap >/dev/null

work=$(mktemp -d /var/tmp/pkgbox-bench-build.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
dsc=${2:-}
[ -z "$dsc" ] || [ -f "$dsc" ] || { echo "bench: $dsc: no such .dsc" >&2; exit 1; }
[ -z "$dsc" ] || dsc=$(realpath "$dsc")
src=testdata/packages/hello-c
name=hello-c
[ -z "$dsc" ] || name=$(basename "$dsc" .dsc)

# shellcheck source=bench/floor.sh
. bench/floor.sh
echo "bench: preparing the floor's root, sbuild's tarball and user" >&2
floor_prepare

# sbuild's unshare mode wants an unprivileged user with subordinate ids and
# a tarball of a buildd root.
id pkgbox-bench >/dev/null 2>&1 || useradd --create-home pkgbox-bench
grep -q '^pkgbox-bench:' /etc/subuid || usermod --add-subuids 300000-365535 --add-subgids 300000-365535 pkgbox-bench
tarball=$work/sbuild-$suite-$arch.tar
mmdebstrap --quiet --variant=buildd --format=tar "$suite" "$tarball" "$mirror"
chmod 644 "$tarball"
sbuild_run() {
	rm -rf "$work/sb"
	what=$(put_source "$work/sb")
	chown -R pkgbox-bench "$work/sb"
	# sbuild wants a directory to build in (its own) or a .dsc (from --build-dir)
	runuser -u pkgbox-bench -- env DEB_BUILD_OPTIONS="$([ "${NOCHECK:-}" = 1 ] && echo nocheck)" sh -c "cd '$work/sb/src' && sbuild --chroot-mode=unshare --chroot='$tarball' \
		--build-dir='$work/sb' \
		--dist='$suite' --arch='$arch' --no-run-lintian --no-run-autopkgtest --no-run-piuparts \
		--no-source-only-changes $([ "${NOCHECK:-}" = 1 ] && echo "--profiles=nocheck") $([ -n "$dsc" ] && echo "'$what'")"
}
pkgbox_run() {
	rm -rf "$work/pk"
	"$bin" build "$(put_source "$work/pk")" --out "$work/pk" --root test "${nocheck_args[@]}" "$@"
}

# layer is the key of the layer the builds make and reuse, read from the
# warm-up build's log; drop_layer removes it, so that the next build is a
# first one again.
layer=
drop_layer() { [ -z "$layer" ] || rm -rf "$PKGBOX_STORE/layers/$layer"; }

ns() { date +%s%N; }
declare -A total
cases=(floor first pkgbox fresh sbuild)
run_case() {
	case $1 in floor) floor ;; first | pkgbox) pkgbox_run ;; fresh) pkgbox_run --no-layers ;; sbuild) sbuild_run ;; esac >"$work/$1.log" 2>&1 ||
		{ echo "bench: $1 failed:" >&2; tail -30 "$work/$1.log" >&2; exit 1; }
}
for c in "${cases[@]}"; do
	total[$c]=0
	run_case "$c"
	if [ "$c" = first ]; then
		layer=$(grep -oh 'build dependencies: \(made\|reused\) layer [0-9a-f]*' "$work"/pk/*.build | awk '{ print $NF }')
		[ -n "$layer" ] || { echo "bench: the first build made no layer" >&2; exit 1; }
	fi
done
for ((i = 0; i < runs; i++)); do
	for c in "${cases[@]}"; do
		[ "$c" != first ] || drop_layer
		# No case pays for the writeback (or the discards) of what the
		# one before it wrote: up to 160 MB of installed packages.
		sync
		t0=$(ns)
		run_case "$c"
		total[$c]=$((total[$c] + $(ns) - t0))
	done
done
s() { awk -v ns="$1" -v n="$runs" 'BEGIN { printf "%.2f", ns / n / 1e9 }'; }
echo "build of $name on $suite/$arch, mean of $runs runs each (one untimed warm-up run each)"
for c in "${cases[@]}"; do
	over=$(awk -v a="${total[$c]}" -v f="${total[floor]}" -v n="$runs" 'BEGIN { printf "%.2f", (a - f) / n / 1e9 }')
	printf '  %-8s total %7ss   overhead %7ss\n' "$c" "$(s "${total[$c]}")" "$over"
done
awk -v p="${total[pkgbox]}" -v sb="${total[sbuild]}" -v f="${total[floor]}" \
	'BEGIN { printf "  pkgbox overhead / sbuild overhead: %.2f   (warm layer; bar: at most 0.1, and 1 s)\n", (p - f) / (sb - f) }'
awk -v p="${total[fresh]}" -v sb="${total[sbuild]}" -v f="${total[floor]}" \
	'BEGIN { printf "  without layers (--no-layers):      %.2f\n", (p - f) / (sb - f) }'
awk -v p="${total[first]}" -v sb="${total[sbuild]}" -v f="${total[floor]}" \
	'BEGIN { printf "  first build (makes the layer):     %.2f   (bar: at most 0.33)\n", (p - f) / (sb - f) }'

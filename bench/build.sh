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
# Prints each total and each overhead: the mean total minus the floor's,
# and the median over the rounds of the case's time minus the floor's in the
# same round (steadier when the machine's speed drifts), and the ratios of
# the overheads; it never fails on a time. CASES picks some of the cases
# (the floor always runs): CASES=pkgbox bench/build.sh 10 DSC times a warm
# build alone, 10 rounds.
#
# usage: [NOCHECK=1] [CASES="..."] bench/build.sh [RUNS [DSC]]   (as root; uses the shared test root)
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
cases=(floor)
for c in ${CASES:-first pkgbox fresh sbuild}; do
	case $c in first | pkgbox | fresh | sbuild) cases+=("$c") ;; floor) ;; *)
		echo "bench: CASES: no case $c (first, pkgbox, fresh, sbuild)" >&2
		exit 2
		;;
	esac
done
has() { [[ " ${cases[*]} " == *" $1 "* ]]; }
! has sbuild || { command -v sbuild >/dev/null && command -v mmdebstrap >/dev/null; } ||
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
echo "bench: preparing the floor's root$(has sbuild && echo ", sbuild's tarball and user")" >&2
floor_prepare

# sbuild's unshare mode wants an unprivileged user with subordinate ids and
# a tarball of a buildd root.
tarball=$work/sbuild-$suite-$arch.tar
if has sbuild; then
	id pkgbox-bench >/dev/null 2>&1 || useradd --create-home pkgbox-bench
	grep -q '^pkgbox-bench:' /etc/subuid || usermod --add-subuids 300000-365535 --add-subgids 300000-365535 pkgbox-bench
	mmdebstrap --quiet --variant=buildd --format=tar "$suite" "$tarball" "$mirror"
	chmod 644 "$tarball"
fi
sbuild_run() {
	rm -rf "$work/sb"
	what=$(put_source "$work/sb")
	chown -R pkgbox-bench "$work/sb"
	# sbuild wants a directory to build in (its own) or a .dsc (from --build-dir)
	runuser -u pkgbox-bench -- env DEB_BUILD_OPTIONS="$build_opts" sh -c "cd '$work/sb/src' && sbuild --chroot-mode=unshare --chroot='$tarball' \
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
# took[CASE] is the case's time in each timed round, in ns, one per line.
declare -A took
run_case() {
	case $1 in floor) floor ;; first | pkgbox) pkgbox_run ;; fresh) pkgbox_run --no-layers ;; sbuild) sbuild_run ;; esac >"$work/$1.log" 2>&1 ||
		{ echo "bench: $1 failed:" >&2; tail -30 "$work/$1.log" >&2; exit 1; }
}
# The untimed warm-up round; the first case's build, when it runs, names the
# layer (pkgbox's warm-up makes it otherwise, for the timed rounds to reuse).
for c in "${cases[@]}"; do
	took[$c]=
	run_case "$c"
	if [ "$c" = first ] || { [ "$c" = pkgbox ] && [ -z "$layer" ]; }; then
		layer=$(grep -oh 'build dependencies: \(made\|reused\) layer [0-9a-f]*' "$work"/pk/*.build | awk '{ print $NF }')
		[ -n "$layer" ] || { echo "bench: the $c build made no layer" >&2; exit 1; }
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
		took[$c]+="$(($(ns) - t0))"$'\n'
	done
done
# mean CASE: its mean time in ns. over CASE: its median paired overhead in
# ns (its time minus the floor's, round by round).
mean() { printf %s "${took[$1]}" | awk '{ t += $1 } END { printf "%.0f", t / NR }'; }
over() {
	paste <(printf %s "${took[$1]}") <(printf %s "${took[floor]}") | awk '{ print $1 - $2 }' | sort -n |
		awk '{ d[NR] = $1 } END { printf "%.0f", NR % 2 ? d[(NR + 1) / 2] : (d[NR / 2] + d[NR / 2 + 1]) / 2 }'
}
sec() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
echo "build of $name on $suite/$arch ($build_opts), $runs timed rounds (one untimed warm-up round)"
printf '  %-8s %9s %16s %16s\n' case "mean" "mean overhead" "median overhead"
for c in "${cases[@]}"; do
	if [ "$c" = floor ]; then
		printf '  %-8s %8ss\n' floor "$(sec "$(mean floor)")"
	else
		printf '  %-8s %8ss %15ss %15ss\n' "$c" "$(sec "$(mean "$c")")" "$(sec $(($(mean "$c") - $(mean floor))))" "$(sec "$(over "$c")")"
	fi
done
! has pkgbox || echo "  warm build (layer reused): bar at most 1 s of overhead"
echo "  each round, in s:"
for c in "${cases[@]}"; do
	printf '    %-8s %s\n' "$c" "$(printf %s "${took[$c]}" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / 1e9 }')"
done
has sbuild || exit 0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf '  overhead / sbuild overhead, by the means (by the medians):\n'
for c in pkgbox first fresh; do
	has "$c" || continue
	case $c in pkgbox) what="warm layer; bar: at most 0.1" ;; first) what="makes the layer; bar: at most 0.33" ;; fresh) what="--no-layers" ;; esac
	printf '    %-8s %s (%s)   %s\n' "$c" "$(ratio $(($(mean "$c") - $(mean floor))) $(($(mean sbuild) - $(mean floor))))" \
		"$(ratio "$(over "$c")" "$(over sbuild)")" "$what"
done

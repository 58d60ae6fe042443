#!/bin/bash
# Start-up cost of a sandbox: `pkgbox run ROOT -- /bin/true` (ephemeral
# overlay session included) side by side with bubblewrap and with
# unshare+chroot on the same root. The cases are interleaved, one run of
# each per round in a rotating order, so that the machine's noise hits all
# alike; the script prints the median and the quartiles of each and the
# ratios of the medians. It never fails on a time.
#
# pkgbox runs on a store of its own (a temporary one): the root is given
# by path and only read, as the lower layer of the overlay, so the shared
# test store is never written to.
#
# usage: bench/run.sh [ROOT] [RUNS]   (as root; ROOT a path, or a root's name
#        in $PKGBOX_TEST_STORE, default the test root; RUNS default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-test}
runs=${2:-100}
if [[ $name == */* ]]; then
	root=$name
else
	root=${PKGBOX_TEST_STORE:-/var/tmp/pkgbox-test-2}/roots/$name
fi
[ -d "$root" ] || { echo "bench: no root $root (run the tests once, or pkgbox create)" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bench: bwrap missing: apt-get install bubblewrap" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin=${PKGBOX_BIN:-}
if [ -z "$bin" ]; then
	bin=$tmp/pkgbox
	CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
fi
export PKGBOX_STORE=$tmp/store

cases=(pkgbox pkgbox-minimal bwrap unshare)
run_case() {
	case $1 in
	pkgbox) "$bin" run "$root" -- /bin/true ;;
	pkgbox-minimal) "$bin" run "$root" --profile minimal -- /bin/true ;;
	bwrap) bwrap --bind "$root" / --proc /proc --dev /dev --unshare-all /bin/true ;;
	unshare) unshare --pid --mount --uts --ipc --net --fork chroot "$root" /bin/true ;;
	esac
}
for c in "${cases[@]}"; do run_case "$c"; : >"$tmp/$c.us"; done # warm caches
# EPOCHREALTIME (bash 5) reads the clock without a fork; times in µs.
n=${#cases[@]}
for ((i = 0; i < runs; i++)); do
	for ((j = 0; j < n; j++)); do
		c=${cases[(i + j) % n]}
		t0=${EPOCHREALTIME/[.,]/}
		run_case "$c"
		t1=${EPOCHREALTIME/[.,]/}
		echo $((10#$t1 - 10#$t0)) >>"$tmp/$c.us"
	done
done
# quantile FILE Q: the Q-quantile (0..1) of the times in FILE, in ms.
quantile() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(q * (NR - 1)) + 1; printf "%.2f", v[i] / 1000 }'; }
echo "sandbox start-up, $runs interleaved runs each, root $root"
printf '  %-16s %8s %8s %8s   (ms)\n' case median p25 p75
for c in "${cases[@]}"; do
	printf '  %-16s %8s %8s %8s\n' "$c" "$(quantile "$tmp/$c.us" 0.5)" "$(quantile "$tmp/$c.us" 0.25)" "$(quantile "$tmp/$c.us" 0.75)"
done
ratio() { awk -v a="$(quantile "$tmp/$1.us" 0.5)" -v b="$(quantile "$tmp/$2.us" 0.5)" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratios of the medians"
printf '  pkgbox / bwrap            %s   (bar: 1.5)\n' "$(ratio pkgbox bwrap)"
printf '  pkgbox-minimal / bwrap    %s\n' "$(ratio pkgbox-minimal bwrap)"
printf '  pkgbox / unshare+chroot   %s\n' "$(ratio pkgbox unshare)"

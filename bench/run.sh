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
#        PKGBOX_BIN=path uses that pkgbox binary instead of building one;
#        PKGBOX_BASELINE=path adds it as the case "baseline" (an older pkgbox,
#        say), interleaved with the others, for before/after ratios.
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
[ -n "${PKGBOX_BASELINE:-}" ] && cases+=(baseline)
run_case() {
	case $1 in
	pkgbox) "$bin" run "$root" -- /bin/true ;;
	baseline) "$PKGBOX_BASELINE" run "$root" -- /bin/true ;;
	pkgbox-minimal) "$bin" run "$root" --profile minimal -- /bin/true ;;
	bwrap) bwrap --bind "$root" / --proc /proc --dev /dev --unshare-all /bin/true ;;
	unshare) unshare --pid --mount --uts --ipc --net --fork chroot "$root" /bin/true ;;
	esac
}
for c in "${cases[@]}"; do run_case "$c"; : >"$tmp/$c.us"; : >"$tmp/$c.cpu"; done # warm caches
# children_cpu sets cpu to the CPU time (user + system, µs) of this shell's
# finished children, from the builtin times, without a fork (a subshell
# would count its own children).
to_us() { # 0m0.012s -> us=12000
	local m=${1%%m*} r=${1#*m}
	r=${r%s}
	local f=${r#*.}000000
	us=$(((10#$m * 60 + 10#${r%.*}) * 1000000 + 10#${f:0:6}))
}
children_cpu() {
	local shell_times u s
	times >"$tmp/times"
	{ read -r shell_times; read -r u s; } <"$tmp/times"
	to_us "$u"
	cpu=$us
	to_us "$s"
	cpu=$((cpu + us))
}
# EPOCHREALTIME (bash 5) reads the clock without a fork; times in µs.
n=${#cases[@]}
for ((i = 0; i < runs; i++)); do
	for ((j = 0; j < n; j++)); do
		c=${cases[(i + j) % n]}
		children_cpu
		c0=$cpu
		t0=${EPOCHREALTIME/[.,]/}
		run_case "$c"
		t1=${EPOCHREALTIME/[.,]/}
		children_cpu
		echo $((10#$t1 - 10#$t0)) >>"$tmp/$c.us"
		echo $((cpu - c0)) >>"$tmp/$c.cpu"
	done
done
# quantile FILE Q: the Q-quantile (0..1) of the times in FILE, in ms.
quantile() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 } END { i = int(q * (NR - 1)) + 1; printf "%.2f", v[i] / 1000 }'; }
echo "sandbox start-up, $runs interleaved runs each, root $root"
echo "(wall: elapsed; cpu: user+system of the whole process tree, which a loaded machine inflates less)"
printf '  %-16s %8s %8s %8s %10s   (ms)\n' case median p25 p75 "cpu median"
for c in "${cases[@]}"; do
	printf '  %-16s %8s %8s %8s %10s\n' "$c" "$(quantile "$tmp/$c.us" 0.5)" "$(quantile "$tmp/$c.us" 0.25)" \
		"$(quantile "$tmp/$c.us" 0.75)" "$(quantile "$tmp/$c.cpu" 0.5)"
done
ratio() { awk -v a="$(quantile "$tmp/$1.us" 0.5)" -v b="$(quantile "$tmp/$2.us" 0.5)" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratios of the medians (wall)"
printf '  pkgbox / bwrap            %s   (bar: 1.5)\n' "$(ratio pkgbox bwrap)"
printf '  pkgbox-minimal / bwrap    %s\n' "$(ratio pkgbox-minimal bwrap)"
printf '  pkgbox / unshare+chroot   %s\n' "$(ratio pkgbox unshare)"
if [ -n "${PKGBOX_BASELINE:-}" ]; then
	printf '  baseline / bwrap          %s\n' "$(ratio baseline bwrap)"
	printf '  pkgbox / baseline         %s\n' "$(ratio pkgbox baseline)"
fi
cpu_ratio() { awk -v a="$(quantile "$tmp/$1.cpu" 0.5)" -v b="$(quantile "$tmp/$2.cpu" 0.5)" 'BEGIN { printf "%.2f", a / b }'; }
echo "ratios of the medians (cpu; times counts whole ms)"
printf '  pkgbox / bwrap            %s\n' "$(cpu_ratio pkgbox bwrap)"
[ -n "${PKGBOX_BASELINE:-}" ] && printf '  pkgbox / baseline         %s\n' "$(cpu_ratio pkgbox baseline)"
exit 0

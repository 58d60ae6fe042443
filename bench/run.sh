#!/bin/bash
# Start-up cost of a sandbox: `pkgbox run ROOT -- /bin/true` (ephemeral
# overlay included) side by side with bubblewrap and with unshare+chroot on
# the same root, interleaved in one run so that the machine's noise hits all
# alike. Prints the mean per run and the ratios; it never fails on a time.
#
# usage: bench/run.sh [ROOT-NAME] [RUNS]   (as root; default: the test root)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-test}
runs=${2:-50}
export PKGBOX_STORE=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
root=$PKGBOX_STORE/roots/$name
[ -d "$root" ] || { echo "bench: no root $root (run the tests once, or pkgbox create)" >&2; exit 1; }
command -v bwrap >/dev/null || { echo "bench: bwrap missing: apt-get install bubblewrap" >&2; exit 1; }
bin=$(mktemp -d)/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox

declare -A total
cases=(pkgbox pkgbox-minimal bwrap unshare)
run_case() {
	case $1 in
	pkgbox) "$bin" run "$name" -- /bin/true ;;
	pkgbox-minimal) "$bin" run "$name" --profile minimal -- /bin/true ;;
	bwrap) bwrap --unshare-all --bind "$root" / --proc /proc --dev /dev /bin/true ;;
	unshare) unshare --pid --mount --uts --ipc --net --fork chroot "$root" /bin/true ;;
	esac
}
for c in "${cases[@]}"; do total[$c]=0; run_case "$c"; done # warm caches
for ((i = 0; i < runs; i++)); do
	for c in "${cases[@]}"; do
		t0=$(date +%s%N)
		run_case "$c"
		t1=$(date +%s%N)
		total[$c]=$((total[$c] + t1 - t0))
	done
done
ms() { awk -v ns="$1" -v n="$runs" 'BEGIN { printf "%.2f", ns / n / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "sandbox start-up, mean of $runs runs each, root $root"
for c in "${cases[@]}"; do printf '  %-16s %8s ms\n' "$c" "$(ms "${total[$c]}")"; done
echo "ratios"
printf '  pkgbox / bwrap            %s   (bar: 1.5)\n' "$(ratio "${total[pkgbox]}" "${total[bwrap]}")"
printf '  pkgbox-minimal / bwrap    %s\n' "$(ratio "${total[pkgbox-minimal]}" "${total[bwrap]}")"
printf '  pkgbox / unshare+chroot   %s\n' "$(ratio "${total[pkgbox]}" "${total[unshare]}")"

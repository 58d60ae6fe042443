#!/bin/bash
# A batch of ten small archive sources from the corpus (bench/corpus/list),
# one build at a time (-J 1, each build -j of all CPUs) against two at once
# (-J 2, each -j of its share), side by side in one run on the shared test
# root. A warm-up batch first fetches the sources, fills the apt cache and
# makes the dependency layers, so both timed runs start from the same warm
# store. Prints each wall time, the load average at each start (other work
# on the machine skews both), and the ratio batch/sequential; it never fails
# on a time.
#
# usage: bench/batch.sh [NAME,...]   (as root; uses the shared test root)
set -euo pipefail
cd "$(dirname "$0")/.."
export PKGBOX_STORE=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
[ -d "$PKGBOX_STORE/roots/test" ] || { echo "bench: no test root in $PKGBOX_STORE (run the tests once)" >&2; exit 1; }
names=${1:-hello,dtach,sl,tree,xxhash,libmd,cjson,libtry-tiny-perl,libclass-method-modifiers-perl,libmodule-runtime-perl}
cpus=$(nproc)

work=$(mktemp -d /var/tmp/pkgbox-bench-batch.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
tr ',' '\n' <<<"$names" > "$work/list"
for n in $(cat "$work/list"); do
	grep -q "^$n " bench/corpus/list || { echo "bench: $n is not in bench/corpus/list" >&2; exit 1; }
done

# run NAME ARGS...: the batch into a fresh directory; prints its wall time.
run() {
	local name=$1; shift
	mkdir -p "$work/$name"
	local load start end
	load=$(cut -d' ' -f1 /proc/loadavg)
	start=$(date +%s.%N)
	(cd "$work/$name" && "$bin" build --root test --from "$work/list" --out "$work/$name" "$@" \
		>"$work/$name.table" 2>"$work/$name.log") || {
		echo "bench: the $name batch failed (exit status $?):" >&2; cat "$work/$name.table" >&2; exit 1; }
	end=$(date +%s.%N)
	printf '%s %s\n' "$(echo "$end - $start" | bc)" "$load"
}

echo "bench: warm-up batch (fetch, apt cache, layers)" >&2
r=$(run warm -J 2)
read -r warm warmload <<<"$r"
echo "bench: one at a time (-J 1 -j $cpus)" >&2
r=$(run seq -J 1 -j "$cpus")
read -r seq seqload <<<"$r"
echo "bench: two at once (-J 2 -j $((cpus / 2 > 0 ? cpus / 2 : 1)))" >&2
r=$(run par -J 2)
read -r par parload <<<"$r"
tail -n 1 "$work/seq.table" >&2
tail -n 1 "$work/par.table" >&2
printf '%-28s %8s  %s\n' "batch of $(wc -l <"$work/list") sources" "wall s" "load at start"
printf '%-28s %8.1f  %s\n' "warm-up (-J 2, cold)" "$warm" "$warmload"
printf '%-28s %8.1f  %s\n' "one at a time (-J 1)" "$seq" "$seqload"
printf '%-28s %8.1f  %s\n' "two at once (-J 2)" "$par" "$parload"
printf 'ratio -J 2 / -J 1: %.2f\n' "$(echo "$par / $seq" | bc -l)"

#!/bin/bash
# What a warm compiler cache saves a rebuild of a real C package, side by
# side in one run, each case a second build (the build-dependency layers
# and the apt cache warm from a first, untimed one):
#   plain  pkgbox build PKG, without --ccache;
#   warm   pkgbox build PKG --ccache, the cache filled by the builds before;
#   cold   pkgbox build PKG --ccache on an emptied cache (what a first
#          build through the cache costs: every compilation a miss, stored).
# Prints each round's build step and whole build, the medians, and the
# ratios to plain; it never fails on a time. The .debs of every case are
# compared with plain's, byte for byte.
#
# usage: bench/ccache.sh [PKG] [RUNS]   (as root; the shared test root;
# PKG is a source of its suite, default hello; --nocheck throughout)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:-hello}
runs=${2:-3}
export PKGBOX_STORE=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
[ -d "$PKGBOX_STORE/roots/test" ] || { echo "bench: no test root in $PKGBOX_STORE (run the tests once)" >&2; exit 1; }
arch=$(sed -n 's/^ *"arch": "\(.*\)",$/\1/p' "$PKGBOX_STORE/roots/test.json")
cache=$PKGBOX_STORE/cache/ccache/test/$arch

work=$(mktemp -d /var/tmp/pkgbox-bench-ccache.XXXXXX)
trap 'rm -rf "$work" "$cache" "$cache.json" "$cache.lock"' EXIT
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox

# One build, its --json result in $work/CASE.json, its .debs in $work/CASE/.
one() {
	local c=$1
	shift
	rm -rf "${work:?}/$c" && mkdir -p "$work/$c"
	(cd "$work/$c" && "$bin" build "$pkg" --root test --nocheck --json "$@") >"$work/$c.json" 2>"$work/$c.err" ||
		{ echo "bench: $c failed:" >&2; tail -30 "$work/$c.err" >&2; exit 1; }
}
run() {
	case $1 in
	plain) one plain ;;
	warm) one warm --ccache ;;
	cold) rm -rf "$cache" && one cold --ccache ;;
	esac
}
# The build step and the whole build (sum of phases), in seconds.
times() {
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
b=sum(p["duration_ns"] for p in r["phases"] if p["name"]=="build")/1e9
t=sum(p["duration_ns"] for p in r["phases"])/1e9
c=r.get("ccache")
print("%.2f %.2f %s" % (b, t, "%d/%d" % (c["hits"], c["hits"]+c["misses"]) if c else "-"))' "$1"
}

echo "bench: first builds of $pkg (layers, apt cache, a filled compiler cache)" >&2
run plain
run warm
cases=(plain warm cold)
declare -A builds wholes
for ((i = 1; i <= runs; i++)); do
	for c in "${cases[@]}"; do
		run "$c"
		read -r b t hits < <(times "$work/$c.json")
		builds[$c]+="$b "
		wholes[$c]+="$t "
		printf 'round %d %-5s build %7.2f s  whole %7.2f s  ccache hits %s\n' "$i" "$c" "$b" "$t" "$hits"
		for deb in "$work/plain"/*.deb; do
			cmp -s "$deb" "$work/$c/$(basename "$deb")" || echo "bench: $c: $(basename "$deb") differs from plain's"
		done
	done
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
pb=$(median <<<"${builds[plain]}")
pw=$(median <<<"${wholes[plain]}")
for c in "${cases[@]}"; do
	b=$(median <<<"${builds[$c]}")
	w=$(median <<<"${wholes[$c]}")
	awk -v c="$c" -v b="$b" -v w="$w" -v pb="$pb" -v pw="$pw" \
		'BEGIN {printf "%-5s median build %7.2f s (%.2f of plain)  whole %7.2f s (%.2f of plain)\n", c, b, b/pb, w, w/pw}'
done

#!/bin/bash
# Rootless mode against root mode, interleaved in one run: a build of
# Debian's hello 2.10-3 and an empty sandbox (`run ROOT -- true`) as root
# on the shared test root, and as the rootless test user on its own root
# (the same root, ids shifted through its map; see
# internal/testenv/rootless.go), with the floor (bench/floor.sh:
# dpkg-buildpackage alone) beside them. The apt and source caches are warm
# (one untimed build in each mode first), so both reuse their dependency
# layer. The rootless network is what the machine allows: pasta where
# /dev/net/tun is open to users, else pkgbox's HTTP proxy; TUN=open opens
# it for the run. Prints each mode's mean, the builds' overheads (total
# minus the floor) and the ratios rootless/root; it never fails on a time.
#
# usage: bench/rootless.sh [RUNS]   (as root, after the rootless tests made
#                                    the test user and its store once)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
rootstore=${PKGBOX_STORE:-/var/tmp/pkgbox-test-2}
dir=/var/tmp/pkgbox-test-rootless-1
user=pkgbox-rootless
[ -d "$rootstore/roots/test" ] && [ -d "$dir/store/roots/test" ] && id "$user" >/dev/null 2>&1 ||
	{ echo "bench: run the rootless tests once first (go test -run TestRootless ./sandbox)" >&2; exit 1; }

work=$(mktemp -d "$dir/bench.XXXXXX")
chmod 755 "$work"
tunmode=$(stat -c %a /dev/net/tun)
trap 'chmod "$tunmode" /dev/net/tun; rm -rf "$work"' EXIT
[ "${TUN:-}" != open ] || chmod 0666 /dev/net/tun # pasta opens it in the user namespace
net=proxy
[ "$(stat -c %a /dev/net/tun)" != 666 ] || net=pasta
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
mkdir "$work/out-root" "$work/out-user"
chown "$user:" "$work/out-user"

as_root() { PKGBOX_STORE=$rootstore "$bin" "$@"; }
as_user() {
	setpriv --reuid "$user" --regid "$user" --init-groups env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
		PATH=/usr/bin:/bin PKGBOX_STORE="$dir/store" "$bin" "$@"
}
build() { "$1" build --root test --overwrite --out "$2" hello=2.10-3 >/dev/null 2>&1; }
root=$rootstore/roots/test
dsc=$(ls "$rootstore"/cache/source/*/files/hello_2.10-3.dsc 2>/dev/null | head -1)
[ -n "$dsc" ] || { echo "bench: no hello_2.10-3.dsc in $rootstore's cache (run the tests once)" >&2; exit 1; }
# shellcheck source=bench/floor.sh
. bench/floor.sh
echo "bench: preparing the floor's root" >&2
floor_prepare
now() { date +%s.%N; }

echo "bench: warm-up builds" >&2
build as_root "$work/out-root"
build as_user "$work/out-user"

declare -A total=([root-build]=0 [user-build]=0 [root-run]=0 [user-run]=0 [floor]=0)
for i in $(seq "$runs"); do
	t0=$(now); floor >"$work/floor.log" 2>&1; t1=$(now)
	total[floor]=$(echo "${total[floor]} + $t1 - $t0" | bc)
	for mode in root user; do
		t0=$(now); build "as_$mode" "$work/out-$mode"; t1=$(now)
		total[$mode-build]=$(echo "${total[$mode-build]} + $t1 - $t0" | bc)
		t0=$(now); for _ in 1 2 3 4 5 6 7 8 9 10; do "as_$mode" run test -- true; done; t1=$(now)
		total[$mode-run]=$(echo "${total[$mode-run]} + ($t1 - $t0) / 10" | bc -l)
	done
	echo "bench: run $i of $runs done" >&2
done
echo "hello 2.10-3, mean of $runs runs each; rootless network: $net"
printf '%-9s %7.3fs\n' floor "$(echo "${total[floor]} / $runs" | bc -l)"
for what in build run; do
	r=$(echo "${total[root-$what]} / $runs" | bc -l)
	u=$(echo "${total[user-$what]} / $runs" | bc -l)
	printf '%-9s root %7.3fs  rootless %7.3fs  ratio %.2f\n' "$what" "$r" "$u" "$(echo "$u / $r" | bc -l)"
done
r=$(echo "(${total[root-build]} - ${total[floor]}) / $runs" | bc -l)
u=$(echo "(${total[user-build]} - ${total[floor]}) / $runs" | bc -l)
printf '%-9s root %7.3fs  rootless %7.3fs  ratio %.2f   (bar: at most 1.2)\n' overhead "$r" "$u" "$(echo "$u / $r" | bc -l)"

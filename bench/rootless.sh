#!/bin/bash
# Rootless mode against root mode, interleaved in one run: a build of
# Debian's hello (fetched by name) and an empty sandbox (`run ROOT -- true`)
# as root on the shared test root, and as the rootless test user on its
# own root (the same root, ids shifted through its map; see
# internal/testenv/rootless.go). The apt and source caches are warm (one
# untimed build in each mode first), so both reuse their dependency layer.
# Prints each mode's mean and the ratio rootless/root; it never fails on
# a time.
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
chmod 0666 /dev/net/tun # pasta opens it in the user namespace (README, known issues)
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
mkdir "$work/out-root" "$work/out-user"
chown "$user:" "$work/out-user"

as_root() { PKGBOX_STORE=$rootstore "$bin" "$@"; }
as_user() {
	setpriv --reuid "$user" --regid "$user" --init-groups env -i HOME="$(getent passwd "$user" | cut -d: -f6)" \
		PATH=/usr/bin:/bin PKGBOX_STORE="$dir/store" "$bin" "$@"
}
build() { "$1" build --root test --overwrite --out "$2" hello >/dev/null 2>&1; }
now() { date +%s.%N; }

echo "bench: warm-up builds" >&2
build as_root "$work/out-root"
build as_user "$work/out-user"

declare -A total=([root-build]=0 [user-build]=0 [root-run]=0 [user-run]=0)
for i in $(seq "$runs"); do
	for mode in root user; do
		t0=$(now); build "as_$mode" "$work/out-$mode"; t1=$(now)
		total[$mode-build]=$(echo "${total[$mode-build]} + $t1 - $t0" | bc)
		t0=$(now); for _ in 1 2 3 4 5 6 7 8 9 10; do "as_$mode" run test -- true; done; t1=$(now)
		total[$mode-run]=$(echo "${total[$mode-run]} + ($t1 - $t0) / 10" | bc -l)
	done
	echo "bench: run $i of $runs done" >&2
done
for what in build run; do
	r=$(echo "${total[root-$what]} / $runs" | bc -l)
	u=$(echo "${total[user-$what]} / $runs" | bc -l)
	printf '%-6s root %7.3fs  rootless %7.3fs  ratio %.2f\n' "$what" "$r" "$u" "$(echo "$u / $r" | bc -l)"
done

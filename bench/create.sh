#!/bin/bash
# Cost of `pkgbox create` against plain debootstrap with the same arguments,
# cold (empty package cache) and warm (the cache filled by the cold run:
# `--fresh` runs debootstrap again, the default reuses the cold run's
# image), with mmdebstrap's time for the same suite and variant.
# Each tool gets a cache of its own, so cold means cold for both. Prints
# the times and the ratios; it never fails on a time.
#
# usage: bench/create.sh [SUITE] [VARIANT]   (as root; default: the host's suite, minbase)
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
variant=${2:-minbase}
command -v mmdebstrap >/dev/null || apt-get install -y -q mmdebstrap >/dev/null
work=$(mktemp -d /var/tmp/pkgbox-bench-create.XXXXXX)
trap 'rm -rf "$work"' EXIT
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox
export PKGBOX_STORE=$work/store

# pkgbox picks the mirror from the host's apt sources; debootstrap and
# mmdebstrap get the same one, from the root pkgbox records.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
timed() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; exit 1; }
	t1=$(date +%s%N)
	secs "$t0" "$t1"
}
plain() { # CACHE TARGET
	mkdir -p "$1"
	unshare --mount --propagation private debootstrap --variant="$variant" --components=main \
		--cache-dir="$1" "$suite" "$2" "$mirror"
}

pk_cold=$(timed "$bin" create "$suite" --variant "$variant" --name cold)
mirror=$(sed -n 's/^ *"mirror": "\(.*\)",$/\1/p' "$PKGBOX_STORE/roots/cold.json")
db_cold=$(timed plain "$work/dbcache" "$work/db-cold")
pk_fresh=$(timed "$bin" create "$suite" --variant "$variant" --name fresh --fresh)
db_warm=$(timed plain "$work/dbcache" "$work/db-warm")
pk_warm=$(timed "$bin" create "$suite" --variant "$variant" --name warm)
mm=$(timed mmdebstrap --variant="$variant" --components=main "$suite" "$work/mm" "$mirror")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "create $suite ($variant), mirror from the host's apt sources"
printf '  %-40s %7ss\n' "pkgbox create, cold cache" "$pk_cold" "debootstrap, cold cache" "$db_cold" \
	"pkgbox create --fresh, warm cache" "$pk_fresh" "debootstrap, warm cache" "$db_warm" \
	"pkgbox create, warm cache (image)" "$pk_warm" "mmdebstrap" "$mm"
echo "  pkgbox/debootstrap cold:         $(ratio "$pk_cold" "$db_cold")   (bar: at most 1.05)"
echo "  pkgbox --fresh/debootstrap warm: $(ratio "$pk_fresh" "$db_warm")"
echo "  pkgbox warm/cold:                $(ratio "$pk_warm" "$pk_cold")   (bar: at most 0.5)"
echo "  pkgbox cold/mmdebstrap:          $(ratio "$pk_cold" "$mm")"

#!/bin/bash
# Cost of `pkgbox create` against plain debootstrap with the same arguments
# (issue 12, "Create"): cold (no bootstrap image, an empty package cache),
# and warm (the cache filled by the cold run: `--fresh` runs debootstrap
# again, the default reuses the cold run's image), with mmdebstrap's time
# for the same suite and variant. Cold runs are interleaved, pkgbox first
# in odd rounds and debootstrap first in even ones, so that a machine
# whose load changes favours neither. Each tool and round gets a cache of
# its own, so cold means cold for all.
#
# It prints the times, each cold run's phases (from debootstrap's own
# messages, timestamped) and the ratios, and never fails on a time. It does
# fail when the first round's roots differ: pkgbox's root must hold what
# plain debootstrap's holds (the same packages, `dpkg -l`, and the same
# files with the same modes and owners), but for what pkgbox adds when it
# finishes a root and for logs.
#
# usage: bench/create.sh [SUITE] [VARIANT] [ROUNDS]
#        (as root; default: the host's suite, buildd, 1 round)
# Each cold run downloads the whole package set (~110 MB for buildd).
set -euo pipefail
cd "$(dirname "$0")/.."
suite=${1:-$(. /etc/os-release && echo "$VERSION_CODENAME")}
variant=${2:-buildd}
rounds=${3:-1}
command -v mmdebstrap >/dev/null || apt-get install -y -q mmdebstrap >/dev/null
work=$(mktemp -d /var/tmp/pkgbox-bench-create.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
bin=$work/pkgbox
CGO_ENABLED=0 go build -o "$bin" ./cmd/pkgbox

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# timed LOG CMD...: runs CMD, its output timestamped into LOG (seconds since
# its start), and prints how long it took. A failed run ends the bench.
timed() {
	local log=$1 t0 t1 rc=0
	shift
	t0=$(date +%s%N)
	"$@" 2>&1 | perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $t0 = time } printf "%7.2f %s", time - $t0, $_' >"$log" || rc=$?
	t1=$(date +%s%N)
	if [ "$rc" != 0 ]; then
		tail -20 "$log" >&2
		echo "bench: $* failed" >&2
		exit 1
	fi
	secs "$t0" "$t1"
}
# phases LOG: where a cold run's time went, from debootstrap's messages.
# Fetching the index and resolving dependencies are one phase: pkgbox -v
# shows a message of debootstrap's when the next one starts, so its
# "Resolving dependencies of required packages" comes when they are.
phases() {
	awk '
	function at(name) { if (!(name in t)) { t[name] = $1 + 0; order[n++] = name } }
	/I: Retrieving InRelease/                 { at("index+resolve") }
	/I: Checking component/                   { at("size+download") }
	/I: Extracting /                          { at("extract") }
	/I: Installing core packages/             { at("core") }
	/I: Unpacking required packages/          { at("unpack required") }
	/I: Configuring required packages/        { at("configure required") }
	/I: Unpacking the base system/            { at("unpack base") }
	/I: Configuring the base system/          { at("configure base") }
	/I: Base system installed successfully/   { at("finish (pkgbox: image, root, sync)") }
	{ last = $1 + 0 }
	END {
		for (i = 0; i < n; i++) {
			end = (i + 1 < n) ? t[order[i + 1]] : last
			printf "%s %.1f  ", order[i], end - t[order[i]]
		}
		printf "\n"
	}' "$1"
}
plain() { # CACHE TARGET
	mkdir -p "$1"
	unshare --mount --propagation private debootstrap --variant="$variant" --components=main \
		--cache-dir="$1" "$suite" "$2" "$mirror"
}
# The mirror: pkgbox's choice, from the host's apt sources; debootstrap and
# mmdebstrap get the same one, from the root pkgbox records.
mirror=
pkcold() { # ROUND
	PKGBOX_STORE=$work/store$1 "$bin" create "$suite" --variant "$variant" --name cold -v
}

declare -a pk db mm
for ((i = 1; i <= rounds; i++)); do
	if ((i % 2)); then
		pk[i]=$(timed "$work/pk$i.log" pkcold "$i")
		mirror=$(sed -n 's/^ *"mirror": "\(.*\)",$/\1/p' "$work/store$i/roots/cold.json")
		db[i]=$(timed "$work/db$i.log" plain "$work/dbcache$i" "$work/db$i")
	else
		db[i]=$(timed "$work/db$i.log" plain "$work/dbcache$i" "$work/db$i")
		pk[i]=$(timed "$work/pk$i.log" pkcold "$i")
	fi
	mm[i]=$(timed "$work/mm$i.log" mmdebstrap --variant="$variant" --components=main "$suite" "$work/mm$i" "$mirror")
	echo "round $i: pkgbox ${pk[i]}s, debootstrap ${db[i]}s, mmdebstrap ${mm[i]}s: pkgbox/debootstrap $(ratio "${pk[i]}" "${db[i]}")" >&2
done
export PKGBOX_STORE=$work/store$rounds
pk_fresh=$(timed "$work/fresh.log" "$bin" create "$suite" --variant "$variant" --name fresh --fresh)
db_warm=$(timed "$work/dbwarm.log" plain "$work/dbcache$rounds" "$work/db-warm")
pk_warm=$(timed "$work/warm.log" "$bin" create "$suite" --variant "$variant" --name warm)

# The roots of round 1. pkgbox finishing a root adds 90pkgbox,
# policy-rc.d, the build user (useradd leaves backups of passwd and
# friends, with its own modes); debootstrap's log is not pkgbox's.
listing() { # ROOT
	(cd "$1" && find . -xdev -printf '%p %y %m %U %G %l\n') |
		grep -Ev '^\./(etc/apt/apt\.conf\.d/90pkgbox|usr/sbin/policy-rc\.d|etc/(passwd|group|shadow|gshadow)-|var/log/.*) ' |
		LC_ALL=C sort
}
packages() { # ROOT
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f '${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\n' | LC_ALL=C sort
}
same=yes
if ! diff -u <(packages "$work/db1") <(packages "$work/store1/roots/cold") >"$work/packages.diff"; then
	same=no
	echo "installed packages differ (debootstrap's -, pkgbox's +):" >&2
	head -40 "$work/packages.diff" >&2
fi
if ! diff -u <(listing "$work/db1") <(listing "$work/store1/roots/cold") >"$work/files.diff"; then
	same=no
	echo "files differ (debootstrap's -, pkgbox's +):" >&2
	head -40 "$work/files.diff" >&2
fi

sum() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", s }'; }
echo "create $suite ($variant), mirror from the host's apt sources, $rounds round(s)"
for ((i = 1; i <= rounds; i++)); do
	printf '  %-40s %7ss   %s\n' "pkgbox create, cold, round $i" "${pk[i]}" "$(phases "$work/pk$i.log")" \
		"debootstrap, cold, round $i" "${db[i]}" "$(phases "$work/db$i.log")" \
		"mmdebstrap, round $i" "${mm[i]}" ""
done
printf '  %-40s %7ss\n' "pkgbox create --fresh, warm cache" "$pk_fresh" "debootstrap, warm cache" "$db_warm" \
	"pkgbox create, warm cache (image)" "$pk_warm"
pks=$(sum "${pk[@]}") dbs=$(sum "${db[@]}") mms=$(sum "${mm[@]}")
echo "  pkgbox/debootstrap cold:         $(ratio "$pks" "$dbs")   (bar: at most 0.7)"
echo "  pkgbox/mmdebstrap cold:          $(ratio "$pks" "$mms")"
echo "  pkgbox --fresh/debootstrap warm: $(ratio "$pk_fresh" "$db_warm")"
echo "  pkgbox warm/cold:                $(ratio "$pk_warm" "${pk[rounds]}")   (bar: at most 0.5)"
echo "  roots identical (dpkg -l, files, modes, owners): $same"
[ "$same" = yes ]

# The floor of the build benchmarks (sourced by bench/build.sh and
# bench/rootless.sh): dpkg-buildpackage alone, in a copy of the shared test
# root that already has the source's build dependencies, entered with
# nothing but unshare and chroot. A build's overhead is its time minus the
# floor's.
#
# Set before sourcing: work (a scratch directory), root (the test root),
# and either dsc (a .dsc) or src (a source directory). NOCHECK=1 skips the
# package's tests (DEB_BUILD_OPTIONS=nocheck and the nocheck profile), in
# the floor and, through nocheck_args, in the builds compared with it: a
# test suite's own variance (hello's: ±15 s on a loaded machine) otherwise
# swamps overheads of a second or two.
#
# Every builder gets the same DEB_BUILD_OPTIONS, build_opts: pkgbox build
# sets parallel=N, N its CPUs, so the floor and sbuild are given it too
# (until stop 22 the floor and sbuild built serially).

# nocheck_args are pkgbox build's arguments for NOCHECK.
nocheck_args=()
[ "${NOCHECK:-}" != 1 ] || nocheck_args=(--nocheck)
build_opts="parallel=$(nproc)"
[ "${NOCHECK:-}" != 1 ] || build_opts="nocheck $build_opts"

# put_source DIR: the source to build, as DIR/src, and for a .dsc a copy of
# it and its files in DIR (another user must read them); prints what to
# hand to a builder (the directory, or the .dsc).
put_source() {
	mkdir -p "$1"
	if [ -n "${dsc:-}" ]; then
		for f in "$(basename "$dsc")" $(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* //p' "$dsc"); do
			cp "$(dirname "$dsc")/$f" "$1/"
		done
		dpkg-source --no-check -x "$1/$(basename "$dsc")" "$1/src" >/dev/null
		echo "$1/$(basename "$dsc")"
	else
		cp -a "$src" "$1/src"
		echo "$1/src"
	fi
}

# floor_prepare: the floor's root, with the build dependencies installed.
floor_prepare() {
	cp -a "$root" "$work/floor"
	chmod 755 "$work/floor" # roots made before pkgbox set this themselves
	cp /etc/resolv.conf "$work/floor/etc/resolv.conf"
	rm -rf "$work/floor/build" && put_source "$work/floor/build" >/dev/null
	unshare --mount --pid --fork chroot "$work/floor" sh -c \
		'mount -t proc proc /proc && apt-get build-dep -y -q /build/src >/dev/null'
}

# floor: one build, as the root's build user, without the network.
floor() {
	rm -rf "$work/floor/build" && put_source "$work/floor/build" >/dev/null
	chown -R "$(awk -F: '$1 == "pkgbox" { print $3 ":" $4 }' "$work/floor/etc/passwd")" "$work/floor/build"
	local prof=""
	[ "${NOCHECK:-}" != 1 ] || prof=-Pnocheck
	unshare --mount --pid --net --fork chroot "$work/floor" sh -c \
		'mount -t proc proc /proc && cd /build/src && su pkgbox -s /bin/sh -c "DEB_BUILD_OPTIONS=\"$0\" dpkg-buildpackage -us -uc -b $1"' "$build_opts" "$prof"
}

#!/bin/sh
# make-dsc.sh OUTDIR: build the source package of hello-c into OUTDIR, which
# then holds hello-c_1.0.dsc and hello-c_1.0.tar.xz. Works from any
# directory; writes nothing beside this script.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
tmp=$(mktemp -d "$out/.make-dsc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$here/hello-c" "$tmp/hello-c-1.0"
# dpkg-source -b writes the .dsc and tarball into the current directory.
cd "$out"
dpkg-source -b "$tmp/hello-c-1.0" >&2

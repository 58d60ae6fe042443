#!/bin/bash
# The archive corpus: build every source of bench/corpus/list with pkgbox,
# one at a time, and compare its .debs with the archive's own of the same
# version. Prints one table and a last line
#   corpus: B/N built, M/K binaries match
# Sources whose files the mirror does not serve are counted apart.
#
# usage: sudo bench/corpus/run.sh [NAME,NAME...]
#   (as root, with the host's apt mirror reachable; CORPUS_OUT, CORPUS_PKGBOX,
#   CORPUS_FETCH, CORPUS_TIMEOUT and PKGBOX_STORE as in corpus_test.go)
set -euo pipefail
cd "$(dirname "$0")"
[ $# -gt 0 ] && export CORPUS=$1
exec go test -tags corpus -timeout 0 -count=1 -v -run '^TestCorpus$' .

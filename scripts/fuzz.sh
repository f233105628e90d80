#!/usr/bin/env bash
# fuzz.sh runs every Go fuzz target (func FuzzXxx(f *testing.F) in a _test.go file) of the
# repository (both modules: the root and api/), one after the other, for FUZZTIME each, and
# fails if any found a failing input.
#
#   scripts/fuzz.sh                       # every target, 60 s each (make fuzz)
#   FUZZTIME=3s scripts/fuzz.sh           # the brief pass of make test
#   FUZZ_MATCH=httpapi scripts/fuzz.sh    # only targets whose "package target" matches
#   scripts/fuzz.sh -list                 # print the package and target pairs, run nothing
#
# A failing input is written by `go test` to the package's testdata/fuzz/<Target>/: fix the
# bug, keep the file (it then runs as a seed in every `go test`). New interesting inputs go
# to Go's fuzz cache ($GOCACHE/fuzz), not into the repo. FUZZ_PARALLEL sets -parallel
# (default: go's, GOMAXPROCS). Targets are found in the sources, so a new one needs no entry
# here. Packages that link libav need the Makefile's cgo environment (make fuzz sets it).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-60s}
GO=${GO:-go}

# moddir prints the folder of the go.mod that the package folder $1 (./x/y) belongs to: the
# root, or a nested module such as ./api, where `go test` must run for the package's targets
# (./... of one module does not reach into another).
moddir() {
	local d=$1
	while [[ $d != . && ! -f $d/go.mod ]]; do
		d=$(dirname "$d")
	done
	echo "$d"
}

# pairs prints "./pkg FuzzName" for every fuzz target, sorted.
pairs() {
	git ls-files --cached --others --exclude-standard -- '*_test.go' |
		xargs grep -HoE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*#./\1 \2#; s#^[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*#. \1#' |
		sort -u
}

if [[ ${1:-} == -list ]]; then
	pairs
	exit 0
fi

parallel=()
[[ -n ${FUZZ_PARALLEL:-} ]] && parallel=(-parallel "$FUZZ_PARALLEL")

failed=()
n=0
start=$SECONDS
while read -r pkg target; do
	if [[ -n ${FUZZ_MATCH:-} && ! "$pkg $target" =~ $FUZZ_MATCH ]]; then
		continue
	fi
	n=$((n + 1))
	t0=$SECONDS
	echo "== $pkg $target ($FUZZTIME)"
	mod=$(moddir "$pkg")
	rel=.${pkg#"$mod"}
	if ! (cd "$mod" && "$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$rel") >"${TMPDIR:-/tmp}/fuzz-$$.log" 2>&1; then
		cat "${TMPDIR:-/tmp}/fuzz-$$.log"
		failed+=("$pkg $target")
	else
		tail -n 2 "${TMPDIR:-/tmp}/fuzz-$$.log" | head -n 1
	fi
	echo "   $((SECONDS - t0)) s"
done < <(pairs)
rm -f "${TMPDIR:-/tmp}/fuzz-$$.log"

echo "fuzz: $n targets in $((SECONDS - start)) s, FUZZTIME=$FUZZTIME"
if ((${#failed[@]} > 0)); then
	printf 'fuzz: FAILED %s\n' "${failed[@]}"
	exit 1
fi
if ((n == 0)); then
	echo "fuzz: no target matched" >&2
	exit 1
fi

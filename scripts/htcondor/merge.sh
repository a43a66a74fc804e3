#!/usr/bin/env bash
# merge.sh OUTDIR N OUT: joins OUTDIR/shard-0.h5 … shard-(N-1).h5 into OUT (predict --merge checks
# that they are of one run and input and cover every event exactly once).
set -euo pipefail
outdir=$1 n=$2 out=$3
files=()
for ((i = 0; i < n; i++)); do files+=("$outdir/shard-$i.h5"); done
exec "$(dirname "$0")/../../target/release/examples/predict" --merge --quiet --out "$out" "${files[@]}"

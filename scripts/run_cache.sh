#!/usr/bin/env bash
# Keep a finished (or half-finished) run outside the work tree, and bring it back into a fresh clone.
#
#   scripts/run_cache.sh save    DIR   # copy data/ models/ reports/ logs/ benchmarks/ and Snakemake's metadata to DIR
#   scripts/run_cache.sh restore DIR   # copy them back; `snakemake --cores all` then re-runs only what changed
#
# Resume states (models/<ds>/seed<k>/resume/) travel too, so an interrupted stage continues where it stopped.
# Snakemake's metadata (.snakemake/metadata) records each output's params and code, so a restored run
# is not re-run wholesale; a rule whose params changed since is re-run as usual.  For DVC users the same
# outputs go to a DVC remote instead: `dvc remote add -d runs DIR && dvc commit -f && dvc push`.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
dest=${2:-}
if [[ "$mode" != save && "$mode" != restore ]] || [[ -z "$dest" ]]; then
  echo "usage: scripts/run_cache.sh save|restore DIR" >&2
  exit 2
fi
parts=(data models reports logs benchmarks .snakemake/metadata)
if [[ "$mode" == save ]]; then
  mkdir -p "$dest"
  for p in "${parts[@]}"; do
    [[ -e "$p" ]] && mkdir -p "$dest/$(dirname "$p")" && cp -a "$p" "$dest/$(dirname "$p")/"
  done
  echo "saved ${parts[*]} to $dest"
else
  [[ -d "$dest" ]] || { echo "run_cache: $dest is not a directory" >&2; exit 2; }
  for p in "${parts[@]}"; do
    [[ -e "$dest/$p" ]] && mkdir -p "$(dirname "$p")" && cp -a "$dest/$p" "$(dirname "$p")/"
  done
  echo "restored ${parts[*]} from $dest"
fi

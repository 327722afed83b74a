#!/usr/bin/env bash
# Yearly recomputation of the observatory (GIS cell), when INSEE publishes a new vintage:
#   1. fetch the sources the territory needs (official downloads into the cache, or a local
#      store with --from),
#   2. keep a copy of last year's outputs (maps/archives/<territory>-<date of that run>/),
#   3. run the observatory for every vintage (atomic; replaces the outputs with --force),
#   4. compare with last year's outputs and list what changed (files and indicator values;
#      the value changes are also written as CSV next to the archive).
#
# Usage: bash scripts/recalcul_annuel.sh [--config FILE|NAME] [--from DIR] [--out DIR]
#                                        [--archives DIR] [--years Y1,Y2|all]
# Defaults: the shipped SAN Ouest Provence configuration, the download cache, maps/,
# maps/archives/ (not committed, like every output).
# Exit code: the one of the failing command (see `observatoire run --help`), else 0.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=san_ouest_provence
FROM=""
OUT=maps
ARCHIVES=maps/archives
YEARS=all
while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG=$2; shift 2 ;;
        --from) FROM=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        --archives) ARCHIVES=$2; shift 2 ;;
        --years) YEARS=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -x .venv/bin/observatoire ]; then BIN=.venv/bin; else BIN=$(dirname "$(command -v observatoire)"); fi
OBS="$BIN/observatoire"
PY="$BIN/python"
FROM_OPT=()
[ -n "$FROM" ] && FROM_OPT=(--from "$FROM")

CODE=$("$PY" -c 'import sys; from observatoire.config import charger_config; print(charger_config(sys.argv[1]).code)' "$CONFIG")
CIBLE="$OUT/$CODE"
echo "== 1/4 fetch the sources of $CODE"
"$OBS" data fetch --config "$CONFIG" "${FROM_OPT[@]}"

ANCIEN=""
if [ -f "$CIBLE/manifest.json" ]; then
    DATE=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["debut"][:10])' "$CIBLE/manifest.json")
    ANCIEN="$ARCHIVES/$CODE-$DATE"
    echo "== 2/4 keep last outputs in $ANCIEN"
    mkdir -p "$ARCHIVES"
    rm -rf "$ANCIEN"
    cp -a "$CIBLE" "$ANCIEN"
else
    echo "== 2/4 no previous outputs in $CIBLE"
fi

echo "== 3/4 run"
"$OBS" run --config "$CONFIG" "${FROM_OPT[@]}" --out "$OUT" --years "$YEARS" --force --no-progress

if [ -n "$ANCIEN" ]; then
    echo "== 4/4 what changed since $ANCIEN"
    "$OBS" compare "$ANCIEN" "$CIBLE" -o "$ANCIEN.changements.csv"
else
    echo "== 4/4 nothing to compare with (first run)"
fi

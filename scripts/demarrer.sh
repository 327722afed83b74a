#!/usr/bin/env bash
# Install observatoire, then run the main job: the default territory (SAN Ouest Provence) end to
# end — tables, GeoPackage, XLSX, maps per vintage, sheets, manifest — into maps/.
#   bash scripts/demarrer.sh [STORE] [run options, e.g. --force]
# STORE: a local data store (default ../shared/data). When it does not exist (connected machine),
# the official sources are downloaded into the cache first and the run reads them from there.
# A second run stops (exit 3) and lists the existing outputs: add --force to replace them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/installer.sh
STORE=${1:-../shared/data}
if [ -d "$STORE" ]; then
    exec .venv/bin/observatoire run --from "$STORE" "${@:2}"
fi
echo "No local data store at $STORE: fetching the official sources into the cache."
.venv/bin/observatoire data fetch --config san_ouest_provence_officiel
exec .venv/bin/observatoire run --config san_ouest_provence_officiel "${@:2}"

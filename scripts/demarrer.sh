#!/usr/bin/env bash
# Install observatoire, then run the main job: the default territory (SAN Ouest Provence) end to
# end — tables, GeoPackage, XLSX, maps per vintage, sheets, manifest — into maps/.
#   bash scripts/demarrer.sh [STORE] [run options, e.g. --force]
#   bash scripts/demarrer.sh --force          (default store, outputs replaced)
# STORE: a local data store (default ../shared/data); an argument starting with "-" is a run
# option, not a store. When the store does not exist (connected machine), the official sources
# are downloaded into the cache first and the run reads them from there.
# A second run stops (exit 3) and lists the existing outputs: add --force to replace them.
# OBSERVATOIRE_SANS_INSTALLATION=1 skips the installation step (already installed checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${OBSERVATOIRE_SANS_INSTALLATION:-}" != "1" ]; then
    bash scripts/installer.sh
fi
# the "--force" hint printed when outputs exist repeats this command, not the inner one
OBSERVATOIRE_COMMANDE="bash scripts/demarrer.sh"
if [ $# -gt 0 ]; then OBSERVATOIRE_COMMANDE+=" $(printf '%q ' "$@")"; fi
export OBSERVATOIRE_COMMANDE="${OBSERVATOIRE_COMMANDE% }"
STORE=../shared/data
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    STORE=$1
    shift
fi
if [ -d "$STORE" ]; then
    exec .venv/bin/observatoire run --from "$STORE" "$@"
fi
echo "No local data store at $STORE: fetching the official sources into the cache."
.venv/bin/observatoire data fetch --config san_ouest_provence_officiel
exec .venv/bin/observatoire run --config san_ouest_provence_officiel "$@"

#!/usr/bin/env bash
# Install observatoire, then run the main job on the default territory from a local data store
# (default ../shared/data; pass another folder as first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/installer.sh
STORE=${1:-../shared/data}
exec .venv/bin/observatoire data summary --from "$STORE"

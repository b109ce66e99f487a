#!/usr/bin/env bash
# Install everything the test suite needs, then run the whole suite (unit, notebooks, browser).
# Used verbatim by the README's Quickstart and by CI (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# the dev extra includes the dask extra: the suite runs reviews on a Dask LocalCluster and a scheduler + workers
.venv/bin/python -m pip install --quiet -e ".[dev]"

# Headless Chromium for the browser tests (Debian/Ubuntu; without it they skip with a reason), and the
# fonts the committed notebook SVG outputs were rendered with (text width changes chart layout).
need=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
for pkg in fonts-dejavu-core fonts-liberation; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "note: cannot install ${need[*]} here; browser tests skip without chromium, and stored chart outputs may differ without the fonts" >&2
  fi
fi

# The notebooks run in the kernel named python3: make it this environment's Python.
.venv/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (coachkit)" >/dev/null

exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Install what gridsvc needs and is missing, on Debian/Ubuntu; safe to run again.
#   - system packages: postgresql and postgresql-postgis (the embedded PostGIS), python3-venv
#   - with --test: chromium, chromium-driver and a CJK font (the map pages are tested and
#     screenshotted in headless Chromium)
#   - .venv with gridsvc and its development tools, reinstalled when pyproject.toml changes
#   - the map pages' browser libraries, fetched once from the npm registry (pinned, checked)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=()
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
fi
# A CJK font: embedded in the printed bulletins and cards (run), legible screenshots (test).
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || packages+=(fonts-wqy-microhei)
command -v fc-match >/dev/null 2>&1 || packages+=(fontconfig)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || packages+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 \
  || packages+=(postgresql-postgis)

PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    PYTHON=$(command -v "$candidate"); break
  fi
done
if [ -z "$PYTHON" ]; then
  packages+=(python3 python3-venv)
elif [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  packages+=(python3-venv)
fi

if [ ${#packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "gridsvc needs: ${packages[*]} (no apt-get here: install them by hand)" >&2
    exit 1
  fi
  echo ">> installing system packages: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
fi
[ -n "$PYTHON" ] || PYTHON=$(command -v python3)

if [ ! -x .venv/bin/python ]; then
  echo ">> creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  echo ">> installing gridsvc into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch .venv/.installed
fi
if ! .venv/bin/python -c 'from gridsvc.maps.vendor import missing_files as m; exit(bool(m()))'
then
  echo ">> fetching the map pages' browser libraries"
  .venv/bin/python -m gridsvc.maps.vendor
fi
# Under sudo in someone's checkout, what this made as root (.venv, the fetched libraries, caches)
# is theirs, so they can go on without sudo; the embedded PostGIS runs as them too
# (gridsvc/db/embedded.py).
owner=$(stat -c %u .)
if [ "$(id -u)" -eq 0 ] && [ "$owner" -ne 0 ]; then
  chown -R --from=0 "$owner:$(stat -c %g .)" .
fi

#!/usr/bin/env bash
# `make run`: the embedded PostGIS, migrated, with the demo town, served on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
$bin/gridsvc demo load
token=$($bin/gridsvc token create --role viewer --name "make run ($(id -un))" 2>/dev/null | tail -n 1)
cat <<MSG

  gridsvc is starting on http://${GRIDSVC_HOST:-127.0.0.1}:${GRIDSVC_PORT:-8000}/
  A viewer token for you (shown once):

    $token

  The command-centre map: open http://${GRIDSVC_HOST:-127.0.0.1}:${GRIDSVC_PORT:-8000}/maps/coverage
  and sign in with the token (also /maps/risk, /maps/incidents).
  e.g. curl -H "Authorization: Bearer $token" 'http://${GRIDSVC_HOST:-127.0.0.1}:${GRIDSVC_PORT:-8000}/api/v1/areas?kind=grid'
  More tokens: .venv/bin/gridsvc token create --role dispatcher|planner|admin --name NAME

MSG
# serve owns the embedded database from here: Ctrl-C stops both.
exec $bin/gridsvc serve --stop-db

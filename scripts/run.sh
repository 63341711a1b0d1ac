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

  Sign in at http://${GRIDSVC_HOST:-127.0.0.1}:${GRIDSVC_PORT:-8000}/login as a demo person:
  every demo account has the password  gridsvc-demo
    gw001 (a grid worker: their grid, on a phone too), off01 (a community officer),
    leader-s01 (the station leader), command (the command centre: /maps/coverage,
    /maps/risk, /maps/incidents), planner, admin; or sign in with the token.
  e.g. curl -H "Authorization: Bearer $token" 'http://${GRIDSVC_HOST:-127.0.0.1}:${GRIDSVC_PORT:-8000}/api/v1/areas?kind=grid'
  More tokens: .venv/bin/gridsvc token create --role dispatcher|planner|admin --name NAME
  Accounts: .venv/bin/gridsvc account list

MSG
# serve owns the embedded database from here: Ctrl-C stops both.
exec $bin/gridsvc serve --stop-db

#!/usr/bin/env bash
# ./dev.sh run | test | setup — see scripts/bootstrap.sh
exec "$(dirname "$0")/scripts/bootstrap.sh" "$@"

#!/usr/bin/env bash
# Start the background worker and the web server together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# --beat: the embedded scheduler sends the periodic job reaper (one worker; with several, run `celery beat` once).
"$BIN/celery" -A eolabel worker --beat --loglevel INFO --concurrency 1 --hostname "eolabel@%h" &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null || true; wait "$WORKER" 2>/dev/null || true' EXIT INT TERM
echo "eolabel: http://${HOST:-127.0.0.1}:${PORT:-8000}/  (worker pid $WORKER; broker ${CELERY_BROKER_URL:-filesystem})"
"$BIN/python" manage.py runserver "${HOST:-127.0.0.1}:${PORT:-8000}"

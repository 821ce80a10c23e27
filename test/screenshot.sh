#!/usr/bin/env bash
# The README's status page screenshot: a little load through the quick start's
# proxy (sudo test/quickstart.sh, config/sandbox.ini: port 6033, status page on
# 8080), then headless chromium renders http://127.0.0.1:8080/ into
# test/screenshots/status-page.png. Knobs: SY_PORT (6033), SY_HTTP (8080).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${SY_PORT:-6033}
HTTP=${SY_HTTP:-8080}
OUT="$ROOT/test/screenshots/status-page.png"
client() { mariadb --no-defaults -h127.0.0.1 -P"$PORT" -uapp -papp_pw test "$@"; }

client -e "CREATE TABLE IF NOT EXISTS screenshot_kv (id INT PRIMARY KEY, v VARCHAR(32))"
# six bursts 5 s apart (the route chart's step), on fresh sessions each
for burst in $(seq 6); do
    for i in $(seq $((burst * 40))); do
        echo "REPLACE INTO screenshot_kv VALUES ($((i % 20)), 'v$i');"
        echo "SELECT v FROM screenshot_kv WHERE id = $((i % 20));"
        echo "SELECT COUNT(*) FROM screenshot_kv WHERE v LIKE 'v1%';"
    done | client >/dev/null
    sleep 5
done
PROFILE=$(mktemp -d /tmp/switchyard-screenshot.XXXXXX)
trap 'rm -rf "$PROFILE"' EXIT
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$PROFILE" \
    --window-size=1100,900 --screenshot="$OUT" "http://127.0.0.1:$HTTP/" 2>/dev/null
echo "wrote $OUT"

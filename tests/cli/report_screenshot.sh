#!/usr/bin/env bash
# Renders an `mltrack report` in headless Chromium and saves a screenshot (a CI artifact). Fails when the
# report cannot be written, when Chromium logs a console error or a failed request while loading it (the
# page must need nothing from elsewhere), or when no screenshot comes out.
#
#   tests/cli/report_screenshot.sh MLTRACK ROOT OUT_DIR
#
# MLTRACK is the built command (build/bin/mltrack), ROOT a JSONL root (for instance the quickstart's
# <out>/runs), OUT_DIR where report.html, report.png and chromium.log go. Installs Debian's chromium when
# it is missing and apt-get is usable (MLTRACK_NO_INSTALL=1 skips instead).
set -euo pipefail

if [ $# -ne 3 ]; then
    sed -n '2,10p' "$0"
    exit 2
fi
mltrack=$1
root=$2
out=$3
mkdir -p "$out"

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ] && [ "${MLTRACK_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y chromium >/dev/null
    else
        sudo -n apt-get install -y chromium >/dev/null
    fi
    browser=$(command -v chromium || true)
fi
if [ -z "$browser" ]; then
    echo "report_screenshot: SKIPPED (no chromium)"
    exit 0
fi

"$mltrack" report "$root" -o "$out/report.html"
if grep -q -E 'https?://' "$out/report.html"; then
    echo "report_screenshot: the report holds a network reference" >&2
    exit 1
fi

rm -f "$out/report.png"
# --enable-logging=stderr prints the page's console messages ("CONSOLE(...)") and failed loads.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --enable-logging=stderr --v=0 --window-size=1280,2000 \
    --screenshot="$out/report.png" "file://$(cd "$out" && pwd)/report.html" >"$out/chromium.log" 2>&1 || {
    echo "report_screenshot: chromium failed (see $out/chromium.log)" >&2
    exit 1
}
if grep -E 'CONSOLE\(|Uncaught|net::ERR_' "$out/chromium.log" | grep -v -E 'dbus|DevTools' >&2; then
    echo "report_screenshot: console errors or failed loads while rendering the report" >&2
    exit 1
fi
if [ ! -s "$out/report.png" ]; then
    echo "report_screenshot: no screenshot written" >&2
    exit 1
fi
echo "report_screenshot: $out/report.png"

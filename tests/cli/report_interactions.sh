#!/usr/bin/env bash
# Checks the report's interactions in headless Chromium and saves a screenshot of each state.
#
#   tests/cli/report_interactions.sh MLTRACK OUT_DIR
#
# Writes a 100-run sweep (report_sweep.py) and its report, then:
#  1. loads report_harness.html, which drives the report in a frame as a user would (hover and click runs
#     in the table and the legends, sort by a column, type a filter, move the smoothing slider, toggle
#     log-scale y) and prints one line per check; fails on any "FAIL" line or when the harness never ends;
#  2. opens the report with states given in the URL's fragment (#highlight=...&smooth=...&logy=1,
#     #filter=...&sort=...) and saves a screenshot of each (OUT_DIR/*.png), checking the page's DOM after
#     its script ran (--dump-dom);
#  3. fails on any console message, uncaught exception or failed load.
# MLTRACK is the built command (build/bin/mltrack). Installs Debian's chromium when it is missing and
# apt-get is usable (MLTRACK_NO_INSTALL=1 skips instead).
set -euo pipefail

if [ $# -ne 2 ]; then
    sed -n '2,16p' "$0"
    exit 2
fi
mltrack=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ] && [ "${MLTRACK_NO_INSTALL:-0}" != 1 ] && command -v apt-get >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get install -y chromium >/dev/null; else sudo -n apt-get install -y chromium >/dev/null; fi
    browser=$(command -v chromium || true)
fi
if [ -z "$browser" ] || ! command -v python3 >/dev/null; then
    echo "report_interactions: SKIPPED (no chromium or no python3)"
    exit 0
fi

rm -rf "$out/sweep" "$out"/*.png "$out"/*.log
python3 "$here/report_sweep.py" "$out/sweep" 100
"$mltrack" report "$out/sweep" -o "$out/report.html"
cp "$here/report_harness.html" "$out/report_harness.html"

chrome() {  # chrome LOG ARGS... : headless Chromium, its log (console messages included) in LOG
    local log=$1
    shift
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --enable-logging=stderr --v=0 "$@" 2>"$log"
}
fail=0
console_errors() {  # console_errors LOG : prints and counts the page's console messages and failed loads
    if grep -E 'CONSOLE\(|Uncaught|net::ERR_' "$1" | grep -v -E 'dbus|DevTools' >&2; then
        echo "report_interactions: console errors or failed loads in $1" >&2
        fail=1
    fi
}

# 1. The harness.
chrome "$out/harness.log" --allow-file-access-from-files --virtual-time-budget=20000 \
    --dump-dom "file://$out/report_harness.html" >"$out/harness.dom" || true
sed -n '/<pre id="result">/,/<\/pre>/p' "$out/harness.dom" | sed 's/<[^>]*>//g' | tee "$out/harness.txt"
if grep -q '^FAIL' "$out/harness.txt" || ! grep -q '^done' "$out/harness.txt"; then
    echo "report_interactions: the harness found a problem (see $out/harness.txt)" >&2
    fail=1
fi
console_errors "$out/harness.log"

# 2. States from the URL, each a DOM check and a screenshot.
state() {  # state NAME FRAGMENT GREP_PATTERN...
    local name=$1 fragment=$2
    shift 2
    local url="file://$out/report.html#$fragment"
    chrome "$out/$name.dom.log" --dump-dom "$url" >"$out/$name.dom" || true
    for pattern in "$@"; do
        if ! grep -q -E -- "$pattern" "$out/$name.dom"; then
            echo "report_interactions: $name: the page does not show /$pattern/" >&2
            fail=1
        fi
    done
    chrome "$out/$name.log" --window-size=1280,2400 --screenshot="$out/$name.png" "$url" >/dev/null || true
    [ -s "$out/$name.png" ] || { echo "report_interactions: no screenshot $name.png" >&2; fail=1; }
    console_errors "$out/$name.dom.log"
    console_errors "$out/$name.log"
}
state default "" '<table class="runs"[^>]*>' 'class="asc"|class="desc"' '100 runs, best first'
state highlight-smooth "highlight=sweep%2Frun-42&smooth=0.8" '<body class="hl">' 'class="series raw"' \
    'highlighted: sweep/run-42' 'data-run="42" class="series on"|class="series on"[^>]*data-run="42"'
state logy "logy=1" 'values ≤ 0 not drawn' '\(log\)</text>'
state filter-sort "filter=adamw&sort=param.lr&desc=1" '33 of 100 runs' '<th class="desc">param.lr</th>'

if [ "$fail" != 0 ]; then exit 1; fi
echo "report_interactions: ok ($(ls "$out"/*.png | wc -l) screenshots in $out)"

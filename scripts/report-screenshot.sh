#!/usr/bin/env bash
# Renders the compliance report in headless Chromium (Debian's `chromium` package)
# and writes PNG screenshots, to look at what an auditor will see.
#
#   scripts/report-screenshot.sh          the sample tenant (data/) and the large
#                                         generated tenant (1M mailboxes, 10,000 apps;
#                                         generated once into target/bench-data/large)
#   SAMPLE_ONLY=1 scripts/report-screenshot.sh   only the sample tenant
#
# Output in target/report-shots/: sample.html, sample.png, large.html, large.png
# (whole pages, 1280 px wide) and large-top.png (the first screen).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v chromium >/dev/null || { echo "needs chromium (apt-get install chromium)" >&2; exit 2; }
BIN=target/release/exomatrix
OUT=target/report-shots
DATA=${EXOMATRIX_BENCH_DATA:-target/bench-data}
cargo build --release --locked --quiet
mkdir -p "$OUT"

# shot HTML PNG HEIGHT: a 1280-px-wide screenshot of the first HEIGHT pixels.
shot() {
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1280,"$3" --screenshot="$2" "file://$(realpath "$1")" 2>/dev/null
    echo "wrote $2"
}

"$BIN" analyze data -o "$OUT/sample-dataset" --force --quiet
"$BIN" plan-migration data -o "$OUT/sample-plan" --force > /dev/null
"$BIN" report "$OUT/sample-dataset" -o "$OUT/sample.html" --plan "$OUT/sample-plan" --force
shot "$OUT/sample.html" "$OUT/sample.png" 7200

if [ -z "${SAMPLE_ONLY:-}" ]; then
    if [ ! -f "$DATA/large/.complete" ]; then
        echo "generating the large tenant ..." >&2
        "$BIN" generate --profile large --seed 42 -o "$DATA/large" --force >&2
        touch "$DATA/large/.complete"
    fi
    "$BIN" analyze "$DATA/large" -o "$OUT/large-dataset" --force --quiet
    /usr/bin/time -f "report of the large tenant: %e s, peak RSS %M KiB" \
        "$BIN" report "$OUT/large-dataset" -o "$OUT/large.html" --force
    shot "$OUT/large.html" "$OUT/large-top.png" 1400
    shot "$OUT/large.html" "$OUT/large.png" 7200
fi

#!/usr/bin/env bash
# Runs each cargo-fuzz target for a while (default 300 s each) and fails on the
# first crash, hang or memory blow-up. Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer's instrumentation
# uses unstable rustc flags; on a stable toolchain RUSTC_BOOTSTRAP=1 allows them
# for this build only. Corpora grow under fuzz/corpus/ (not committed); a crash
# is saved under fuzz/artifacts/<target>/ and replayed with
# `cargo fuzz run <target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(filter snapshot)
export RUSTC_BOOTSTRAP=1

# Seeds: the sample filters, and the sample tenant as one input (tables joined
# with NUL bytes in snapshot order, as the snapshot target splits them).
mkdir -p fuzz/corpus/filter fuzz/corpus/snapshot
cp -n fuzz/seeds/filter/* fuzz/corpus/filter/
python3 - <<'PY'
import pathlib
tables = ["mailboxes", "groups", "group_members", "administrative_units",
          "administrative_unit_members", "service_principals", "app_role_assignments",
          "application_access_policies", "management_scopes", "management_role_assignments"]
data = pathlib.Path("data")
seed = b"\0".join((data / f"{t}.csv").read_bytes() for t in tables)
pathlib.Path("fuzz/corpus/snapshot/sample-tenant").write_bytes(seed)
small = b"\0".join((data / f"{t}.csv").read_bytes().splitlines(keepends=True)[0]
                   + b"".join((data / f"{t}.csv").read_bytes().splitlines(keepends=True)[1:4])
                   for t in tables)
pathlib.Path("fuzz/corpus/snapshot/sample-head").write_bytes(small)
PY

for target in "${targets[@]}"; do
    dict=()
    [ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")
    echo "== fuzz $target for ${seconds}s"
    cargo fuzz run -O "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${dict[@]}"
done

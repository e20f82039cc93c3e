#!/usr/bin/env bash
# A fleet of three small generated tenants analyzed into one folder laid out as
# fleet/tenant=NAME/, then queried as one table: granted cells per tenant with
# DuckDB (the duckdb CLI, or Python's duckdb module), and with Spark SQL when
# pyspark is importable.
#
#   scripts/fleet-demo.sh [DIR]      (default: target/fleet-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-target/fleet-demo}
BIN=target/release/exomatrix
cargo build --release --locked --quiet
rm -rf "$DIR"
mkdir -p "$DIR"

# Three tenants of different sizes (generate's small profile, three seeds).
i=0
for name in contoso.onmicrosoft.com fabrikam.onmicrosoft.com northwind.onmicrosoft.com; do
    i=$((i + 1))
    "$BIN" generate --profile small --seed "$i" --mailboxes $((1000 * i)) -o "$DIR/snapshots/$name" > /dev/null
    "$BIN" analyze "$DIR/snapshots/$name" --tenant "$name" -o "$DIR/fleet/tenant=$name" --quiet
done

QUERY="SELECT tenant, count(*) AS cells, count(DISTINCT app_id) AS apps, count(DISTINCT mailbox_id) AS mailboxes
FROM access_named GROUP BY tenant ORDER BY tenant;"
FLEET_SQL=$(realpath scripts/fleet.sql)
cd "$DIR/fleet"
echo "DuckDB, one query over every tenant (fleet.sql's access_named):"
if command -v duckdb > /dev/null; then
    duckdb -init "$FLEET_SQL" -c "$QUERY" < /dev/null
elif python3 -c 'import duckdb' 2> /dev/null; then
    python3 - "$FLEET_SQL" "$QUERY" <<'PY'
import sys, duckdb
con = duckdb.connect()
con.execute(open(sys.argv[1]).read())
print(con.sql(sys.argv[2]))
PY
else
    echo "neither the duckdb CLI nor Python's duckdb module is installed (pip install duckdb)" >&2
    exit 2
fi

if python3 -c 'import pyspark' 2> /dev/null; then
    echo "Spark SQL, the same question:"
    python3 - <<'PY'
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[2]").appName("exomatrix-fleet").getOrCreate()
spark.sparkContext.setLogLevel("ERROR")
# access takes tenant from the folder names (partition discovery from basePath);
# the small tables carry it as a column, so they are read without partition discovery.
spark.read.option("basePath", ".").parquet("tenant=*/access").createOrReplaceTempView("access")
small = lambda name: (spark.read.option("recursiveFileLookup", "true")
                      .option("pathGlobFilter", f"{name}.parquet").parquet("."))
small("apps").createOrReplaceTempView("apps")
small("mailboxes").createOrReplaceTempView("mailboxes")
spark.sql("""
SELECT x.tenant, count(*) AS cells, count(DISTINCT a.app_id) AS apps,
       count(DISTINCT m.external_directory_object_id) AS mailboxes
FROM access x
JOIN apps a ON a.tenant = x.tenant AND a.app_idx = x.app_idx
JOIN mailboxes m ON m.tenant = x.tenant AND m.mailbox_idx = x.mailbox_idx
GROUP BY x.tenant ORDER BY x.tenant
""").show(truncate=False)
PY
else
    echo "(pyspark is not installed: the Spark SQL query in README.md was not run)"
fi

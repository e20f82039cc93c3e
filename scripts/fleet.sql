-- exomatrix fleet views for DuckDB: every tenant's dataset as one table.
--
-- A fleet is a folder of datasets, one per tenant, each written with
--   exomatrix analyze SNAPSHOT --tenant NAME -o fleet/tenant=NAME
-- (the folder name and --tenant agree). Run DuckDB from the fleet folder:
--   cd fleet && duckdb -init /path/to/exomatrix/scripts/fleet.sql
-- access has no tenant column of its own: hive partitioning takes it from the
-- folder name; the small tables carry it in the file as well.
CREATE OR REPLACE VIEW access AS
    SELECT * FROM read_parquet('tenant=*/access/part-*.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW apps AS
    SELECT * FROM read_parquet('tenant=*/apps.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW mailboxes AS
    SELECT * FROM read_parquet('tenant=*/mailboxes.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW grants AS
    SELECT * FROM read_parquet('tenant=*/grants.parquet', hive_partitioning = true);
CREATE OR REPLACE VIEW findings AS
    SELECT * FROM read_parquet('tenant=*/findings.parquet', hive_partitioning = true);
-- The permission catalogue is the same in every dataset.
CREATE OR REPLACE VIEW permissions AS
    SELECT DISTINCT permission_id, permission, aap_constrainable
    FROM read_parquet('tenant=*/permissions.parquet');
CREATE OR REPLACE VIEW access_named AS
SELECT x.tenant, a.app_id, a.display_name AS app_name, p.permission,
       m.external_directory_object_id AS mailbox_id, m.primary_smtp_address,
       CASE x.via WHEN 1 THEN 'entra' WHEN 2 THEN 'rbac' ELSE 'entra+rbac' END AS via
FROM access x
JOIN apps a ON a.tenant = x.tenant AND a.app_idx = x.app_idx
JOIN permissions p ON p.permission_id = x.permission_id
JOIN mailboxes m ON m.tenant = x.tenant AND m.mailbox_idx = x.mailbox_idx;

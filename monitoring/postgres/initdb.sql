-- monitoring/postgres/initdb.sql -- first start of the compose database:
-- create the extension and a small demo data set so the dashboard has
-- something to show (demo tenant #1 is 00000000-0000-4000-8000-000000000001).
CREATE EXTENSION openrisk CASCADE;
SELECT openrisk.generate_demo_data(3, 1000, 42);

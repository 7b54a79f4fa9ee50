-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d).
-- Airflow's metadata lives in the database named by POSTGRES_DB; driftloop's own tables
-- (monitoring runs, alerts, model registry) get a database of their own, because both
-- projects keep an Alembic `alembic_version` table.
CREATE DATABASE driftloop;

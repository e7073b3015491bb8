-- Runs once, when the target-db volume is first initialised: the database pgshift migrates
-- in production (POSTGRES_DB=production) gets a staging sibling for rehearsals.
CREATE DATABASE staging;

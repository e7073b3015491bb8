/**
 * pg_dump `--compress` level of the emergency backup a rollback takes of the live database:
 * production is down while it runs, so speed comes first. Uncompressed (0) measured fastest on
 * the 2-core benchmark machine, alone and beside a pg_restore (bench/dump-compression.ts,
 * bench/RESULTS.md: 1 GB database, 3.2 s vs 7.3 s at level 1 and 13.5 s at the default 6),
 * for a dump 2.5x the size (505 MB vs 199 MB). Deploy backups keep pg_dump's default. Pure:
 * the workflows import it.
 */
export const EMERGENCY_BACKUP_COMPRESSION = 0;

export { checkDatabase, type DatabaseCheckResult } from './database-check';
export {
  countRows,
  compareRowCounts,
  quoteTableName,
  type RowCounts,
  type RowCountComparison,
} from './row-counts';
export {
  runSqlChecks,
  type SqlCheck,
  type SqlCheckResult,
  type SqlCheckExpectation,
} from './sql-checks';
export { checkHttpHealth, type HttpHealthCheck, type HttpHealthResult } from './http-health';
export { measureBaseline, sampleMetrics, type MetricsTarget } from './metrics';
export * from './thresholds';

/** The lease's contract lives with the others: workflows/contracts/lease.ts. */
export * from '../contracts/lease';

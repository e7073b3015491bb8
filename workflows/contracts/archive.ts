/** `archivePreservedDatabase`: the child of a full rollback that archives the replaced database. */
import { z } from 'zod';

/** The child workflow that archives the database a full rollback replaced. */
export function archiveWorkflowId(incidentId: string): string {
  return `${incidentId}-archive`;
}

export const archivePreservedDatabaseInputSchema = z.object({
  environment: z.string().min(1),
  /** The database kept by the restore (`<database>_pre_<id>`), a name and never a URL. */
  database: z.string().min(1),
  /** The backup it becomes, in the environment's backups folder. */
  backupName: z.string().min(1),
  incidentId: z.string().min(1),
  /** Keep the database after archiving it (emergency.keepPreservedDatabase). */
  keepDatabase: z.boolean().default(false),
});
export type ArchivePreservedDatabaseInput = z.input<typeof archivePreservedDatabaseInputSchema>;

/** What `archivePreservedDatabase` returns: every field, nothing else. */
export const archivePreservedDatabaseResultSchema = z.strictObject({
  environment: z.string(),
  database: z.string(),
  backup: z.strictObject({
    id: z.string(),
    path: z.string(),
    sizeBytes: z.number(),
    sha256: z.string(),
    currentVersion: z.number().nullable(),
  }),
  databaseDropped: z.boolean(),
  durationMs: z.number(),
});
export type ArchivePreservedDatabaseResult = z.infer<typeof archivePreservedDatabaseResultSchema>;

import { z } from 'zod';
import { configSchema } from './schema';

/**
 * JSON Schema (draft 2020-12) of `pgshift.config.json` for editors: reference it with
 * `"$schema": "./pgshift.config.schema.json"`. Describes the file as written (defaults optional);
 * each key's description comes from its `.describe()` in schema.ts (editor hovers).
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://pgshift.dev/pgshift.config.schema.json',
    title: 'pgshift configuration',
    description:
      'Environments, database URL variable names, health checks, application hooks, approvals, thresholds and notifications for pgshift.',
  };
}

/**
 * Prints the README's configuration reference: a Markdown table of every key of
 * pgshift.config.json (path, type, default, description), generated from the zod schema through
 * its JSON Schema; each description is the key's `.describe()` in src/config/schema.ts. Usage: `npx tsx scripts/config-reference.ts > reference.md`.
 */
import { configJsonSchema } from '../src/config';
import { configReference, formatConfigReference } from '../src/config/reference';

process.stdout.write(formatConfigReference(configReference(configJsonSchema())) + '\n');

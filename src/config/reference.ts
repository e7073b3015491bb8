type JsonSchema = Record<string, unknown>;

/** One key of the config file, for the README's reference table. */
export interface ConfigKeyRow {
  path: string;
  type: string;
  default?: string;
  required: boolean;
  description: string;
}

const asSchema = (value: unknown): JsonSchema | undefined =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as JsonSchema) : undefined;

/** `string`, `integer 100–599`, `"non-empty" | "zero-rows" | object`, `duration`… */
function typeOf(schema: JsonSchema): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (Array.isArray(schema.anyOf)) {
    const branches = schema.anyOf.map((b) => asSchema(b)).filter((b): b is JsonSchema => !!b);
    const hooks = branches.every((b) => b.type === 'object');
    if (hooks && branches.length === 2) return 'command hook | HTTP hook';
    return branches.map(typeOf).join(' | ');
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : String(schema.type ?? 'any');
  if (type === 'string' && typeof schema.pattern === 'string') {
    if (schema.pattern.includes('ms|sec|s|min')) return 'duration (`500ms`, `15s`, `10m`, `24h`)';
    if (schema.pattern.startsWith('^https?')) return 'URL';
    if (schema.pattern === '^[A-Za-z_][A-Za-z0-9_]*$') return 'env var name';
  }
  if (type === 'array') {
    const items = asSchema(schema.items);
    return items?.type === 'object'
      ? 'array of objects'
      : `array of ${items ? typeOf(items) : 'any'}`;
  }
  if (type === 'object' && asSchema(schema.additionalProperties) && !schema.properties) {
    const values = asSchema(schema.additionalProperties)!;
    return values.type === 'object' && values.properties
      ? 'map of objects'
      : `map of ${typeOf(values)}`;
  }
  const bounds: string[] = [];
  if (typeof schema.minimum === 'number') bounds.push(`≥ ${schema.minimum}`);
  if (typeof schema.exclusiveMinimum === 'number') bounds.push(`> ${schema.exclusiveMinimum}`);
  if (typeof schema.maximum === 'number' && schema.maximum < 1e15)
    bounds.push(`≤ ${schema.maximum}`);
  return bounds.length ? `${type} (${bounds.join(', ')})` : type;
}

function defaultOf(schema: JsonSchema): string | undefined {
  if (!('default' in schema)) return undefined;
  const value = schema.default;
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length)
    return undefined; // an object of defaults: its keys have their own rows
  return JSON.stringify(value);
}

/**
 * Every key below `schema`, by path (`environments.<name>.healthChecks[].url`: `<name>` stands
 * for any environment, `[]` for any array item), described by the zod schema's `.describe()`.
 */
function walk(schema: JsonSchema, path: string, required: boolean, rows: ConfigKeyRow[]): void {
  if (path) {
    rows.push({
      path,
      type: typeOf(schema),
      ...(defaultOf(schema) !== undefined ? { default: defaultOf(schema) } : {}),
      required,
      description: typeof schema.description === 'string' ? schema.description : '',
    });
  }
  const objects: JsonSchema[] = [];
  if (schema.type === 'object') objects.push(schema);
  if (schema.type === 'array' && asSchema(schema.items)?.type === 'object')
    return walk(asSchema(schema.items)!, `${path}[]`, true, rows);
  if (Array.isArray(schema.anyOf))
    for (const branch of schema.anyOf) {
      const b = asSchema(branch);
      if (b?.type === 'object' && b.properties) objects.push(b);
    }
  const seen = new Set<string>();
  for (const object of objects) {
    const props = asSchema(object.properties);
    const requiredKeys = new Set(
      Array.isArray(object.required) ? (object.required as string[]) : [],
    );
    if (props)
      for (const [key, child] of Object.entries(props)) {
        const childPath = path ? `${path}.${key}` : key;
        if (seen.has(childPath)) continue;
        seen.add(childPath);
        walk(asSchema(child) ?? {}, childPath, requiredKeys.has(key), rows);
      }
    const values = asSchema(object.additionalProperties);
    if (
      !props &&
      values?.type === 'object' &&
      values.properties &&
      (path === 'environments' || path === 'fleets')
    )
      walk(values, `${path}.<name>`, false, rows);
  }
}

/** Every key of the config file, in schema order, with type, default and meaning. */
export function configReference(schema: JsonSchema): ConfigKeyRow[] {
  const rows: ConfigKeyRow[] = [];
  walk(schema, '', false, rows);
  // Array items themselves are not keys a person writes: keep their fields only.
  return rows.filter((row) => !row.path.endsWith('[]'));
}

/** The Markdown table of `configReference`, for the README. */
export function formatConfigReference(rows: ConfigKeyRow[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = ['| key | type | default | description |', '|---|---|---|---|'];
  for (const row of rows) {
    const def = row.default !== undefined ? `\`${row.default}\`` : row.required ? 'required' : '';
    lines.push(`| \`${row.path}\` | ${cell(row.type)} | ${cell(def)} | ${cell(row.description)} |`);
  }
  return lines.join('\n');
}

import {
  compareObjects,
  objectId,
  type CatalogObject,
  type CatalogSnapshot,
  type PropertyValue,
} from './snapshot';

/**
 * One way in which `after` differs from `before`. `object` is `kind key`
 * (e.g. `index public.idx_x`); `message` reads as a sentence about `after`:
 * `index idx_x still exists`, `table events is missing`.
 */
export interface SchemaDifference {
  kind: 'extra' | 'missing' | 'changed';
  object: string;
  message: string;
}

/** Properties whose long values are summarised as "changed" rather than printed. */
const LONG_VALUE = 160;

/** `'open'::text` → `'open'`: a default that is a plain literal reads better without its cast. */
function displayDefault(expression: string): string {
  const literal = /^('(?:[^']|'')*')::[a-z ]+(?:\(\d+(?:,\d+)?\))?(?:\[\])?$/.exec(expression);
  return literal?.[1] ?? expression;
}

function quoteText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function display(property: string, value: PropertyValue | undefined): string {
  if (value === null || value === undefined) return 'none';
  if (Array.isArray(value)) return `(${value.join(', ')})`;
  if (typeof value === 'string') {
    if (property === 'default') return displayDefault(value);
    if (property === 'comment') return quoteText(value);
    return value;
  }
  return String(value);
}

function isLong(value: PropertyValue | undefined): boolean {
  return typeof value === 'string' && (value.length > LONG_VALUE || value.includes('\n'));
}

function sameValue(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, index) => item === b[index]);
  return (a ?? null) === (b ?? null);
}

/** Set-like properties: report each element added or removed. */
const SET_PROPERTIES: Record<string, string> = {
  acl: 'privilege',
  roles: 'role',
  options: 'option',
};

function describeSetChange(
  object: CatalogObject,
  property: string,
  before: string[],
  after: string[],
): string[] {
  const label = SET_PROPERTIES[property] ?? property;
  const messages: string[] = [];
  for (const item of after)
    if (!before.includes(item))
      messages.push(`${label} ${item} on ${object.kind} ${object.name} still exists`);
  for (const item of before)
    if (!after.includes(item))
      messages.push(`${label} ${item} on ${object.kind} ${object.name} is missing`);
  if (messages.length === 0)
    messages.push(
      `${label}s on ${object.kind} ${object.name} were ${display(property, before)}, now ${display(property, after)}`,
    );
  return messages;
}

function describeEnumChange(object: CatalogObject, before: string[], after: string[]): string[] {
  const messages: string[] = [];
  for (const label of after)
    if (!before.includes(label))
      messages.push(`enum ${object.name} label ${quoteText(label)} still exists`);
  for (const label of before)
    if (!after.includes(label))
      messages.push(`enum ${object.name} label ${quoteText(label)} is missing`);
  if (messages.length === 0)
    messages.push(
      `enum ${object.name} labels were in the order ${display('labels', before)}, now ${display('labels', after)}`,
    );
  return messages;
}

function describeChange(
  object: CatalogObject,
  property: string,
  before: PropertyValue | undefined,
  after: PropertyValue | undefined,
): string[] {
  const isColumn = object.kind === 'column' || object.kind === 'attribute';
  const was = display(property, before);
  const now = display(property, after);
  if (property === 'labels' && object.kind === 'enum')
    return describeEnumChange(object, (before as string[]) ?? [], (after as string[]) ?? []);
  if (property in SET_PROPERTIES && (Array.isArray(before) || Array.isArray(after)))
    return describeSetChange(
      object,
      property,
      (before as string[] | null) ?? [],
      (after as string[] | null) ?? [],
    );
  if (isColumn && property === 'type')
    return [`${object.kind} ${object.name} type was ${was}, now ${now}`];
  if (isColumn && property === 'notNull')
    return [
      `${object.kind} ${object.name} was ${before ? 'NOT NULL' : 'nullable'}, now ${after ? 'NOT NULL' : 'nullable'}`,
    ];
  if (isColumn && property === 'default')
    return [`default of ${object.name} was ${was}, now ${now}`];
  if (property === 'comment')
    return [`comment on ${object.kind} ${object.name} was ${was}, now ${now}`];
  if (isLong(before) || isLong(after))
    return [`${property} of ${object.kind} ${object.name} changed`];
  return [`${property} of ${object.kind} ${object.name} was ${was}, now ${now}`];
}

function indexById(snapshot: CatalogSnapshot): Map<string, CatalogObject> {
  return new Map(snapshot.objects.map((object) => [objectId(object), object]));
}

/**
 * Every difference between two snapshots, in snapshot order (containers first).
 * An object that exists only in `after` "still exists", one only in `before` "is missing";
 * the contents of such an object (columns of a leftover table…) are not repeated.
 */
export function diffSnapshots(before: CatalogSnapshot, after: CatalogSnapshot): SchemaDifference[] {
  const beforeById = indexById(before);
  const afterById = indexById(after);
  const extra = new Set([...afterById.keys()].filter((id) => !beforeById.has(id)));
  const missing = new Set([...beforeById.keys()].filter((id) => !afterById.has(id)));
  const all = [...before.objects, ...after.objects.filter((o) => extra.has(objectId(o)))].sort(
    compareObjects,
  );
  const differences: SchemaDifference[] = [];
  for (const object of all) {
    const id = objectId(object);
    // Only on one side: named once, not again for each of its parts.
    const side = extra.has(id) ? extra : missing.has(id) ? missing : undefined;
    if (side) {
      if (!(object.parent && side.has(object.parent)))
        differences.push({
          kind: side === extra ? 'extra' : 'missing',
          object: id,
          message: `${object.kind} ${object.name} ${side === extra ? 'still exists' : 'is missing'}`,
        });
      continue;
    }
    const other = afterById.get(id)!;
    const properties = [
      ...new Set([...Object.keys(object.properties), ...Object.keys(other.properties)]),
    ].sort();
    for (const property of properties) {
      const was = object.properties[property];
      const now = other.properties[property];
      if (sameValue(was, now)) continue;
      for (const message of describeChange(object, property, was, now))
        differences.push({ kind: 'changed', object: id, message });
    }
  }
  return differences;
}

// JSON Schemas as people read them: one row per field (nested objects and list items included,
// as `customer.email`, `items[].sku`), with its type, whether it is required and what it is; and
// which operations may write.

type Schema = Record<string, unknown>;

/** One field of a schema, as a row of the Apps page's tables. */
export interface FieldRow {
  /** `email`, `address.city`, `items[].sku`. */
  path: string;
  /** How deep it is (0 for a top-level field). */
  depth: number;
  /** `string (email)`, `integer`, `list of object`, `"a" | "b"`. */
  type: string;
  required: boolean;
  description: string;
}

const MAX_DEPTH = 4;
const MAX_ROWS = 400;

function asSchema(value: unknown): Schema {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : {};
}

/** The one schema of `anyOf`/`oneOf` that is not `null` (how optional fields are written), else the schema. */
function unwrap(schema: Schema): { schema: Schema; nullable: boolean } {
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const real = options.map(asSchema).filter((option) => option.type !== 'null');
      if (real.length === 1) return { schema: { ...real[0], description: schema.description ?? real[0].description }, nullable: real.length < options.length };
    }
  }
  const type = schema.type;
  if (Array.isArray(type) && type.includes('null')) {
    const rest = type.filter((t) => t !== 'null');
    return { schema: { ...schema, type: rest.length === 1 ? rest[0] : rest }, nullable: true };
  }
  return { schema, nullable: false };
}

/** A schema's type in words: `string (email)`, `list of string`, `"a" | "b"`, `object`. */
export function typeText(raw: unknown): string {
  const { schema, nullable } = unwrap(asSchema(raw));
  let text: string;
  if (Array.isArray(schema.enum)) {
    text = schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  } else if ('const' in schema) {
    text = JSON.stringify(schema.const);
  } else if (schema.type === 'array') {
    text = `list of ${typeText(schema.items)}`;
  } else if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    const options = (schema.anyOf ?? schema.oneOf) as unknown[];
    text = options.map(typeText).join(' or ');
  } else if (typeof schema.type === 'string') {
    text = schema.format ? `${schema.type} (${schema.format})` : schema.type;
  } else if (Array.isArray(schema.type)) {
    text = schema.type.join(' or ');
  } else if (schema.properties) {
    text = 'object';
  } else {
    text = 'any';
  }
  return nullable ? `${text} or null` : text;
}

/** Every field of an object schema, depth first, required ones first at each level. */
export function fieldRows(raw: unknown): FieldRow[] {
  const rows: FieldRow[] = [];
  const walk = (value: unknown, prefix: string, depth: number) => {
    const { schema } = unwrap(asSchema(value));
    const target = schema.type === 'array' ? unwrap(asSchema(schema.items)).schema : schema;
    const properties = asSchema(target.properties);
    const required = new Set(Array.isArray(target.required) ? (target.required as string[]) : []);
    const names = Object.keys(properties).sort((a, b) => Number(required.has(b)) - Number(required.has(a)));
    const base = schema.type === 'array' && prefix ? `${prefix}[]` : prefix;
    for (const name of names) {
      if (rows.length >= MAX_ROWS) return;
      const field = asSchema(properties[name]);
      const path = base ? `${base}.${name}` : name;
      const { schema: inner } = unwrap(field);
      rows.push({
        path,
        depth,
        type: typeText(field),
        required: required.has(name),
        description: String(inner.description ?? inner.title ?? ''),
      });
      if (depth + 1 < MAX_DEPTH) walk(field, path, depth + 1);
    }
  };
  walk(raw, '', 0);
  return rows;
}

/**
 * Whether trying operation `id` may write to its app, by its verb, as the server decides
 * (`tether_service::apps::reads`): the server refuses such a call without `write: true`.
 */
export function mayWrite(id: string, kind: string): boolean {
  if (kind === 'trigger') return false;
  const verb = id.split('.').pop() ?? id;
  const reads = ['get', 'list', 'search', 'find', 'lookup', 'check', 'recent'].some((read) => verb.startsWith(read)) || verb === 'echo' || verb === 'login';
  return !reads;
}

/** An input to start from: each required top-level field with an empty value of its type. */
export function inputSkeleton(raw: unknown): Record<string, unknown> {
  const { schema } = unwrap(asSchema(raw));
  const properties = asSchema(schema.properties);
  const skeleton: Record<string, unknown> = {};
  for (const name of Array.isArray(schema.required) ? (schema.required as string[]) : []) {
    const { schema: field } = unwrap(asSchema(properties[name]));
    skeleton[name] = field.type === 'integer' || field.type === 'number' ? 0 : field.type === 'boolean' ? false : field.type === 'array' ? [] : field.type === 'object' ? {} : '';
  }
  return skeleton;
}

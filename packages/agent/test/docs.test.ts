import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configJsonSchema } from '../src/config/json-schema.js';

type Node = Record<string, unknown>;

/** Every field path of the JSON Schema (`topics[].qos`), with the defaults it can have. */
function schemaFields(): Map<string, unknown[]> {
  const fields = new Map<string, unknown[]>();
  const walk = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null) return;
    const n = node as Node;
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (Array.isArray(n[key])) for (const sub of n[key] as unknown[]) walk(sub, path);
    }
    if (n.items !== undefined) walk(n.items, `${path}[]`);
    if (typeof n.properties === 'object' && n.properties !== null) {
      for (const [k, v] of Object.entries(n.properties as Node)) {
        const p = path === '' ? k : `${path}.${k}`;
        const defaults = fields.get(p) ?? [];
        if (typeof v === 'object' && v !== null && 'default' in v)
          defaults.push((v as Node).default);
        fields.set(p, defaults);
        walk(v, p);
      }
    }
  };
  walk(configJsonSchema(), '');
  return fields;
}

const docs = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');

/** The table rows of docs/config.md whose first cell names a field: [path, default cell]. */
function docRows(): [string, string][] {
  const rows: [string, string][] = [];
  let fieldTable = false;
  for (const line of docs.split('\n')) {
    if (!line.startsWith('|')) fieldTable = false;
    else if (/^\|\s*field\s*\|/.test(line)) fieldTable = true;
    if (!fieldTable) continue;
    // Cells are separated by unescaped pipes (types like `0 \| 1 \| 2` escape theirs).
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`([^`]+)`/.exec(cells[1] ?? '');
    if (line.startsWith('| `') && name !== null && cells[3] !== undefined)
      rows.push([name[1] as string, cells[3]]);
  }
  return rows;
}

describe('docs/config.md is true to the schema', () => {
  const fields = schemaFields();
  const rows = docRows();

  it('documents every field of the schema', () => {
    const missing = [...fields.keys()].filter((p) => !docs.includes(`\`${p}\``));
    assert.deepEqual(missing, []);
  });

  it('documents no field the schema does not have, with the schema default', () => {
    assert.ok(rows.length > 80, `expected the field tables, found ${rows.length} rows`);
    for (const [path, cell] of rows) {
      const defaults = fields.get(path);
      assert.ok(
        defaults !== undefined,
        `docs/config.md documents ${path}, which the schema does not have`,
      );
      if (cell === '—') {
        assert.deepEqual(defaults, [], `${path}: the schema has a default, docs say none`);
      } else {
        const m = /^`(.*)`$/.exec(cell);
        assert.ok(m !== null, `${path}: default cell ${cell} is not \`json\``);
        const documented = JSON.parse(m[1] as string) as unknown;
        assert.ok(
          defaults.some((d) => JSON.stringify(d) === JSON.stringify(documented)),
          `${path}: docs say ${cell}, schema says ${JSON.stringify(defaults)}`,
        );
      }
    }
  });
});

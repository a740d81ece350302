/**
 * Configuration paths as the server writes them in issues (`topics[1].qos`,
 * `connection.port`): parsing, reading and immutable writing.
 */

export type PathKey = string | number;

/** `topics[1].format.on` → `['topics', 1, 'format', 'on']`. */
export function parsePath(path: string): PathKey[] {
  const keys: PathKey[] = [];
  for (const part of path.split('.')) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null) {
      keys.push(part);
      continue;
    }
    if (match[1] !== undefined && match[1] !== '') keys.push(match[1]);
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) keys.push(Number(index[1]));
  }
  return keys;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (value: unknown): value is Container =>
  typeof value === 'object' && value !== null;

/** The value at `path`, or undefined. */
export function getAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const key of parsePath(path)) {
    if (!isContainer(node)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/**
 * A copy of `root` with `value` at `path` (intermediate objects are created; `undefined`
 * removes the key). Only the objects along the path are copied.
 */
export function setAt<T>(root: T, path: string, value: unknown): T {
  const keys = parsePath(path);
  const write = (node: unknown, depth: number): unknown => {
    const key = keys[depth];
    if (key === undefined) return value;
    const copy: Record<string | number, unknown> | unknown[] = Array.isArray(node)
      ? [...node]
      : isContainer(node)
        ? { ...(node as Record<string, unknown>) }
        : typeof key === 'number'
          ? []
          : {};
    const next = write((copy as Record<string | number, unknown>)[key], depth + 1);
    if (next === undefined && depth === keys.length - 1 && !Array.isArray(copy)) {
      delete (copy as Record<string, unknown>)[key as string];
    } else {
      (copy as Record<string | number, unknown>)[key] = next;
    }
    return copy;
  };
  return write(root, 0) as T;
}

/** A deep copy of JSON data. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** JSON with sorted keys, to compare two configurations. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (isContainer(v) && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/**
 * Writes a changed configuration back into the text it came from, touching only what changed.
 *
 * A person who wrote `agent.yaml` by hand keeps what they wrote: comments, key order, and the
 * settings they left to their defaults stay as they were; a topic row that did not change keeps
 * its comments even when rows are added, removed or moved around it. The text is edited through
 * the `yaml` package's document model (JSON is YAML too, and is written back as JSON).
 *
 * {@link editConfigText} checks its own result: the edited text must parse to exactly the new
 * configuration, or it returns the configuration rendered whole instead.
 *
 * @module
 */

import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isScalar, isSeq, parseDocument, stringify as toYaml } from 'yaml';
import type { AgentConfig } from '../config/schema.js';
import { isObj, isYamlFile, parseConfigText } from '../config/validate.js';

/** Renders a configuration whole, in the format of `file` (YAML or JSON). */
function renderConfig(config: AgentConfig, file: string): string {
  return isYamlFile(file) ? toYaml(config) : `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * The text of `file` after changing it from `current` (its present text) to `next`: an edit of
 * `current` when it is a valid configuration, otherwise `next` rendered whole.
 */
export function editConfigText(
  current: string | undefined,
  next: AgentConfig,
  file: string,
): string {
  const edited = current === undefined ? undefined : tryEdit(current, next, file);
  return edited ?? renderConfig(next, file);
}

function tryEdit(current: string, next: AgentConfig, file: string): string | undefined {
  let before: AgentConfig;
  try {
    before = parseConfigText(current, file);
  } catch {
    return undefined; // Not valid now (edited by hand): nothing to keep.
  }
  const doc = parseDocument(current);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return undefined;
  doc.contents = edit(doc, doc.contents, before, next) as typeof doc.contents;
  const text = isYamlFile(file) ? doc.toString() : `${JSON.stringify(doc.toJS(), null, 2)}\n`;
  try {
    return isDeepStrictEqual(parseConfigText(text, file), next) ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Makes `node` (the file's node for a value that parsed as `before`) hold `after`. Returns the
 * node to put in its place: `node` itself, edited, or a new one. An absent node (a default)
 * stays absent while the value does not change.
 */
function edit(doc: Document, node: unknown, before: unknown, after: unknown): unknown {
  if (isDeepStrictEqual(before, after)) return node;
  if (isMap(node) && isObj(before) && isObj(after)) {
    for (const [key, value] of Object.entries(after)) {
      const child = node.get(key, true);
      const replaced = edit(doc, child, before[key], value);
      if (replaced !== child) node.set(key, replaced);
    }
    for (const key of Object.keys(before)) if (!(key in after)) node.delete(key);
    return node;
  }
  if (isSeq(node) && Array.isArray(before) && Array.isArray(after)) {
    // The comment above a block sequence's first item is parsed as the sequence's own; it
    // belongs to the item, and moves with it.
    const first = node.items[0] as { commentBefore?: string | null } | undefined;
    if (!node.flow && node.commentBefore && first !== undefined && !first.commentBefore) {
      first.commentBefore = node.commentBefore;
      node.commentBefore = null;
    }
    // Items that did not change keep their nodes (and comments) wherever they moved to.
    const used = new Set<number>();
    const items: unknown[] = after.map((value) => {
      const j = before.findIndex((b, k) => !used.has(k) && isDeepStrictEqual(b, value));
      if (j < 0) return undefined;
      used.add(j);
      return node.items[j];
    });
    // A changed item is an edit of the item that stood at its place, if that one is free.
    for (const [i, value] of after.entries()) {
      if (items[i] !== undefined) continue;
      if (i < before.length && !used.has(i)) {
        used.add(i);
        items[i] = edit(doc, node.items[i], before[i], value);
      } else {
        items[i] = doc.createNode(value);
      }
    }
    node.items = items as typeof node.items;
    return node;
  }
  if (isScalar(node) && typeof node.value === typeof after && after !== null) {
    node.value = after; // Keeps the comment on its line.
    return node;
  }
  return doc.createNode(after);
}

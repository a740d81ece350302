/**
 * Topic names and topic filters: validation, matching, and a trie for dispatch.
 *
 * Pure: no I/O. Rules from MQTT 3.1.1 §4.7, and MQTT 5.0 §4.8.2 for shared subscriptions
 * (`$share/<group>/<filter>`, which Mosquitto and others accept on 3.1.1 connections too).
 *
 * @module
 */

import { InvalidTopicError } from '../errors.js';
import { loneSurrogateIndex, utf8Length } from '../utf16.js';

const MAX_TOPIC_BYTES = 65535;

function checkCommon(topic: string): void {
  if (topic.length === 0) {
    throw new InvalidTopicError(topic, 'must be at least one character long', 'MQTT-4.7.3-1');
  }
  if (topic.includes('\u0000')) {
    throw new InvalidTopicError(topic, 'must not contain U+0000', 'MQTT-4.7.3-2');
  }
  const lone = loneSurrogateIndex(topic);
  if (lone >= 0) {
    // A lone surrogate has no UTF-8 form; encoding it would publish to another topic (U+FFFD).
    throw new InvalidTopicError(
      topic,
      `holds a lone UTF-16 surrogate at index ${lone}, which is not well-formed UTF-8`,
      'MQTT-1.5.3-1',
    );
  }
  if (topic.length > MAX_TOPIC_BYTES / 3 && utf8Length(topic) > MAX_TOPIC_BYTES) {
    throw new InvalidTopicError(topic, 'is longer than 65,535 bytes of UTF-8', 'MQTT-4.7.3-3');
  }
}

/**
 * Validates a topic name (what PUBLISH carries). Throws {@link InvalidTopicError}: empty,
 * U+0000, a lone UTF-16 surrogate (not well-formed UTF-8 [MQTT-1.5.3-1]), over 65,535 bytes,
 * or a wildcard character [MQTT-4.7.1-1].
 */
export function validateTopicName(name: string): void {
  checkCommon(name);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */) {
      throw new InvalidTopicError(
        name,
        `wildcard '${name[i]}' is not allowed in a topic name`,
        'MQTT-4.7.1-1',
      );
    }
  }
}

const SHARE_PREFIX = '$share/';

/** A shared subscription's parts: `$share/<group>/<filter>`. */
export interface SharedFilter {
  /** The Share Name. */
  readonly group: string;
  /** The topic filter messages are matched against. */
  readonly filter: string;
}

/**
 * Splits a shared subscription `$share/<group>/<filter>` (MQTT 5.0 §4.8.2) into its group and
 * filter; undefined for any other filter. Does not validate: see {@link validateTopicFilter}.
 */
export function parseSharedFilter(filter: string): SharedFilter | undefined {
  if (!filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash < 0) return { group: filter.slice(SHARE_PREFIX.length), filter: '' };
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}

/**
 * The filter that received messages are matched against: for a shared subscription the
 * part after `$share/<group>/` (the broker delivers under the topic published to, never
 * under `$share/...`), otherwise the filter itself.
 */
export function matchingFilter(filter: string): string {
  return parseSharedFilter(filter)?.filter ?? filter;
}

/**
 * Validates a topic filter (what SUBSCRIBE carries). Throws {@link InvalidTopicError}: empty,
 * U+0000, a lone UTF-16 surrogate [MQTT-1.5.3-1], over 65,535 bytes, `#` not alone in the
 * last level [MQTT-4.7.1-2], `+` not alone in its level [MQTT-4.7.1-3]. A shared
 * subscription `$share/<group>/<filter>` needs a group of at least one character
 * [MQTT-4.8.2-1] without `/`, `+` or `#`, followed by `/` and a valid, non-empty filter
 * [MQTT-4.8.2-2].
 */
export function validateTopicFilter(filter: string): void {
  checkCommon(filter);
  if (filter === '$share' || filter.startsWith(SHARE_PREFIX)) {
    const shared = parseSharedFilter(filter);
    if (shared === undefined || shared.group.length === 0) {
      throw new InvalidTopicError(
        filter,
        'a shared subscription needs a Share Name of at least one character after $share/',
        'MQTT-4.8.2-1',
      );
    }
    if (/[+#]/.test(shared.group)) {
      throw new InvalidTopicError(
        filter,
        `the Share Name ${JSON.stringify(shared.group)} must not contain '+' or '#'`,
        'MQTT-4.8.2-2',
      );
    }
    if (shared.filter.length === 0) {
      throw new InvalidTopicError(
        filter,
        `the Share Name ${JSON.stringify(shared.group)} must be followed by '/' and a topic filter`,
        'MQTT-4.8.2-2',
      );
    }
    checkFilterLevels(filter, shared.filter);
    return;
  }
  checkFilterLevels(filter, filter);
}

/** The wildcard rules of a (non-shared) filter; `whole` is what an error names. */
function checkFilterLevels(whole: string, filter: string): void {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new InvalidTopicError(
        whole,
        "'#' must be the last character and occupy a whole level",
        'MQTT-4.7.1-2',
      );
    }
    if (level.includes('+') && level !== '+') {
      throw new InvalidTopicError(whole, "'+' must occupy a whole level", 'MQTT-4.7.1-3');
    }
  }
}

/** True when {@link validateTopicName} would accept `name`. */
export function isValidTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

/** True when {@link validateTopicFilter} would accept `filter`. */
export function isValidTopicFilter(filter: string): boolean {
  try {
    validateTopicFilter(filter);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a topic name matches a topic filter. Both are assumed valid (see
 * {@link validateTopicName} and {@link validateTopicFilter}).
 *
 * `+` matches exactly one level (possibly empty), `#` the parent level and any number of
 * levels below (`sport/#` matches `sport`) [MQTT-4.7.1-2]. Filters starting with a wildcard
 * do not match topic names starting with `$` [MQTT-4.7.2-1]. Matching is case-sensitive and
 * allocation-free: it walks both strings level by level without splitting them. A shared
 * subscription `$share/<group>/<filter>` matches what its filter part matches.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter.charCodeAt(0) === 0x24 /* $ */ && filter.startsWith(SHARE_PREFIX)) {
    filter = matchingFilter(filter);
  }
  if (topic.charCodeAt(0) === 0x24 /* $ */) {
    const f0 = filter.charCodeAt(0);
    if (f0 === 0x23 || f0 === 0x2b) return false;
  }
  const fl = filter.length;
  const tl = topic.length;
  let fi = 0;
  let ti = 0;
  for (;;) {
    // Here `fi` and `ti` are at the start of a level of the filter and of the topic.
    // A valid filter has `#` only as its whole last level: it matches all that is left.
    if (filter.charCodeAt(fi) === 0x23) return true;
    let fe = filter.indexOf('/', fi);
    if (fe < 0) fe = fl;
    let te = topic.indexOf('/', ti);
    if (te < 0) te = tl;
    if (!(fe - fi === 1 && filter.charCodeAt(fi) === 0x2b)) {
      if (fe - fi !== te - ti) return false;
      for (let k = 0; k < fe - fi; k++) {
        if (filter.charCodeAt(fi + k) !== topic.charCodeAt(ti + k)) return false;
      }
    }
    const filterDone = fe === fl;
    if (te === tl) {
      // The topic has no level left: the filter must end here too, or with `/#`, which also
      // matches the parent level.
      return filterDone || (fe + 2 === fl && filter.charCodeAt(fe + 1) === 0x23);
    }
    if (filterDone) return false;
    fi = fe + 1;
    ti = te + 1;
  }
}

/**
 * One level of the trie. Its collections are created on first use: a client subscribed to
 * one topic holds a chain of nodes, most of them with a single child and no values, and an
 * empty Map or Set still costs ~150 bytes (10,000 connections in one process add that up).
 */
interface TrieNode<T> {
  children: Map<string, TrieNode<T>> | undefined;
  /** Values subscribed with a filter ending at this node. */
  values: Set<T> | undefined;
  /** Values subscribed with a filter ending in `#` below this node's level. */
  hashValues: Set<T> | undefined;
}

function node<T>(): TrieNode<T> {
  return { children: undefined, values: undefined, hashValues: undefined };
}

/**
 * A subscription trie: filters → values, matched against topic names in time proportional to
 * the topic's depth and the number of matching branches, not to the number of filters.
 */
export class TopicTrie<T> {
  #root: TrieNode<T> = node();
  #size = 0;

  /** Number of (filter, value) pairs. */
  get size(): number {
    return this.#size;
  }

  /**
   * Adds a value under a filter. Adding the same pair twice has no effect.
   *
   * A shared subscription `$share/<group>/<filter>` is stored under its filter part, which is
   * what the messages it brings are published to.
   *
   * @throws {@link InvalidTopicError} if the filter is not valid: a misplaced wildcard would
   * otherwise be stored as something it is not (`a/#/b` as `a/#`).
   */
  add(filter: string, value: T): void {
    validateTopicFilter(filter);
    let current = this.#root;
    const levels = matchingFilter(filter).split('/');
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        current.hashValues ??= new Set();
        if (!current.hashValues.has(value)) {
          current.hashValues.add(value);
          this.#size++;
        }
        return;
      }
      current.children ??= new Map();
      let child = current.children.get(level);
      if (child === undefined) {
        child = node();
        current.children.set(level, child);
      }
      current = child;
    }
    current.values ??= new Set();
    if (!current.values.has(value)) {
      current.values.add(value);
      this.#size++;
    }
  }

  /**
   * Removes a value from a filter (a shared subscription's from its filter part, as
   * {@link add} stored it). Returns whether it was there.
   */
  remove(filter: string, value: T): boolean {
    const levels = matchingFilter(filter).split('/');
    const path: [TrieNode<T>, string][] = [];
    let current = this.#root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        const removed = current.hashValues?.delete(value) ?? false;
        if (removed) {
          this.#size--;
          this.#prune(path, current);
        }
        return removed;
      }
      const child = current.children?.get(level);
      if (child === undefined) return false;
      path.push([current, level]);
      current = child;
    }
    const removed = current.values?.delete(value) ?? false;
    if (removed) {
      this.#size--;
      this.#prune(path, current);
    }
    return removed;
  }

  #prune(path: [TrieNode<T>, string][], leaf: TrieNode<T>): void {
    let current = leaf;
    for (let i = path.length - 1; i >= 0; i--) {
      if (
        (current.children?.size ?? 0) > 0 ||
        (current.values?.size ?? 0) > 0 ||
        (current.hashValues?.size ?? 0) > 0
      ) {
        return;
      }
      const [parent, level] = path[i]!;
      parent.children?.delete(level);
      current = parent;
    }
  }

  /** Every value whose filter matches the topic name, each at most once. */
  match(topic: string): T[] {
    const result: T[] = [];
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] Wildcards at the first level do not match `$` topics.
    const dollar = topic.charCodeAt(0) === 0x24;
    this.#collect(this.#root, levels, 0, dollar, result);
    // Runs once per message received: most match one value, so no Set unless it pays. A
    // value under two matching filters is kept once, where it was first found.
    if (result.length < 2) return result;
    if (result.length <= 16) return result.filter((v, i) => result.indexOf(v) === i);
    return [...new Set(result)];
  }

  #collect(current: TrieNode<T>, levels: string[], depth: number, dollar: boolean, out: T[]): void {
    const wildcardsAllowed = !(dollar && depth === 0);
    // `a/#` matches `a` as well as everything below it.
    if (wildcardsAllowed && current.hashValues !== undefined) {
      for (const v of current.hashValues) out.push(v);
    }
    if (depth === levels.length) {
      if (current.values !== undefined) for (const v of current.values) out.push(v);
      return;
    }
    const children = current.children;
    if (children === undefined) return;
    const exact = children.get(levels[depth]!);
    if (exact !== undefined) this.#collect(exact, levels, depth + 1, dollar, out);
    if (wildcardsAllowed) {
      const plus = children.get('+');
      if (plus !== undefined) this.#collect(plus, levels, depth + 1, dollar, out);
    }
  }

  /** Removes everything. */
  clear(): void {
    this.#root = node();
    this.#size = 0;
  }
}

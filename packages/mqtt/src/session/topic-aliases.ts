/**
 * MQTT 5.0 Topic Aliases (§3.3.2.3.4): the client's outgoing map, assigned automatically
 * within the server's Topic Alias Maximum with least-recently-used replacement, and the
 * incoming map, honoured within the maximum the client announced.
 *
 * Both exist only for one network connection [MQTT-3.3.2-7]: the session resets them when a
 * connection ends.
 *
 * @module
 */

/** What the outgoing map says to send for one PUBLISH. */
export interface AliasUse {
  /** The alias to send. */
  readonly alias: number;
  /**
   * True when the alias is already mapped to this topic on this connection: the topic name
   * may be sent empty. False when this PUBLISH (re)defines the mapping: the full topic goes
   * with it.
   */
  readonly known: boolean;
}

/**
 * The client's outgoing aliases for one connection: topic → alias, 1..maximum, the least
 * recently used replaced once all are taken.
 */
export class OutgoingAliases {
  #maximum = 0;
  /**
   * Topic → alias, in order of last use (a Map iterates in insertion order). Created on the
   * first alias: most connections never use one, and an empty Map costs ~150 bytes.
   */
  #byTopic: Map<string, number> | undefined;
  #assigned = 0;
  #replaced = 0;

  /** The server's Topic Alias Maximum for this connection (0: no aliases) [MQTT-3.3.2-9]. */
  get maximum(): number {
    return this.#maximum;
  }

  /** Aliases assigned (each new mapping sent with its full topic), since the client started. */
  get assigned(): number {
    return this.#assigned;
  }

  /** Mappings replaced because every alias was taken (least recently used first). */
  get replaced(): number {
    return this.#replaced;
  }

  /** A new connection: no mapping survives it [MQTT-3.3.2-7]; `maximum` is the server's. */
  reset(maximum: number): void {
    this.#maximum = maximum;
    this.#byTopic = undefined;
  }

  /**
   * The alias for a PUBLISH to `topic`, or undefined when aliases are off (maximum 0). An
   * unmapped topic takes the next free alias, or the least recently used one's.
   */
  use(topic: string): AliasUse | undefined {
    if (this.#maximum === 0 || topic.length === 0) return undefined;
    this.#byTopic ??= new Map();
    const byTopic = this.#byTopic;
    const mapped = byTopic.get(topic);
    if (mapped !== undefined) {
      byTopic.delete(topic);
      byTopic.set(topic, mapped);
      return { alias: mapped, known: true };
    }
    let alias: number;
    if (byTopic.size < this.#maximum) {
      alias = byTopic.size + 1;
    } else {
      // [MQTT-3.3.2-12] Never above the server's maximum: reuse the least recently used.
      const [oldest, oldestAlias] = byTopic.entries().next().value as [string, number];
      byTopic.delete(oldest);
      alias = oldestAlias;
      this.#replaced++;
    }
    byTopic.set(topic, alias);
    this.#assigned++;
    return { alias, known: false };
  }
}

/** Why an incoming Topic Alias is refused. */
export type AliasProblem = 'over-maximum' | 'unknown';

/** The server's aliases towards the client for one connection: alias → topic. */
export class IncomingAliases {
  #maximum: number;
  /** Alias → topic; created on the first alias the server defines (most never do). */
  #byAlias: Map<number, string> | undefined;

  /** @param maximum - the Topic Alias Maximum the client announced in CONNECT. */
  constructor(maximum: number) {
    this.#maximum = maximum;
  }

  /** The Topic Alias Maximum the client announced. */
  get maximum(): number {
    return this.#maximum;
  }

  /** Mappings held. */
  get size(): number {
    return this.#byAlias?.size ?? 0;
  }

  /** The connection ended: no mapping survives it [MQTT-3.3.2-7]. */
  reset(): void {
    this.#byAlias = undefined;
  }

  /**
   * Resolves a PUBLISH's topic: a non-empty topic with an alias (re)defines the mapping
   * [MQTT-3.3.2-12]; an empty one uses it. Returns the topic, or why the alias is invalid.
   */
  resolve(
    topic: string,
    alias: number,
  ): { readonly topic: string } | { readonly problem: AliasProblem } {
    // [MQTT-3.3.2-10] Not above the maximum we sent (0: none at all); 0 is never valid
    // [MQTT-3.3.2-8].
    if (alias < 1 || alias > this.#maximum) return { problem: 'over-maximum' };
    if (topic.length > 0) {
      this.#byAlias ??= new Map();
      this.#byAlias.set(alias, topic);
      return { topic };
    }
    const mapped = this.#byAlias?.get(alias);
    return mapped === undefined ? { problem: 'unknown' } : { topic: mapped };
  }
}

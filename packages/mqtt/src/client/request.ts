/**
 * MQTT 5.0 request/response (§4.10): `client.request()` and `client.respond()`.
 *
 * A request is a PUBLISH with a Response Topic and a Correlation Data; the responder
 * publishes its answer to that Response Topic with the same Correlation Data [MQTT-4.10]. The
 * requester subscribes once per response topic, before the first request goes out (a response
 * must not be able to overtake the SUBSCRIBE), and pairs each response with its request by
 * the Correlation Data alone: 16 random bytes per request, so that two clients sharing a
 * response topic, or a response to a request that timed out, can never be taken for another
 * request's answer. Responses nobody waits for are counted, never taken for an answer.
 *
 * @module
 */

import { InvalidOptionError, QueueFullError, RequestTimeoutError } from '../errors.js';
import { checkKnownKeys, checkObject, typeName } from '../option-checks.js';
import type { ProtocolVersion, QoS } from '../packet/types.js';
import { validateTopicFilter, validateTopicName } from '../topic/index.js';
import { REQUEST_KEYS, RESPOND_KEYS } from './option-keys.js';
import type { RequestOptions, RespondOptions } from './option-types.js';
import type { Message, Subscription } from './subscription.js';
import type { OutgoingPublishProperties, PublishOptions, SubscribeOptions } from './types.js';

export type { RequestOptions, RespondOptions } from './option-types.js';

/** Longest `timeoutMs` a timer can hold (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** Response topics subscribed at once: each is a subscription kept for the client's life. */
const MAX_RESPONSE_TOPICS = 64;
/** The most requests one responder handles at once (`RespondOptions.concurrency`). */
const MAX_CONCURRENCY = 1000;

/** Bytes of random Correlation Data per request: collisions are not a concern. */
const CORRELATION_BYTES = 16;

/**
 * What a {@link Client.respond} handler answers: the response's payload, or the payload with
 * properties (the Correlation Data is the request's, always).
 */
export type ResponseReply =
  | string
  | Uint8Array
  | { readonly payload: string | Uint8Array; readonly properties?: OutgoingPublishProperties };

/** A responder started by {@link Client.respond}. */
export interface Responder {
  /** The filter it answers requests on. */
  readonly filter: string;
  /** Requests answered so far. */
  readonly answered: number;
  /** Requests not answered: the handler threw, or the response could not be published. */
  readonly failed: number;
  /** Messages on the filter without a Response Topic: nothing to answer to. */
  readonly skipped: number;
  /** Unsubscribes; requests already being handled still get their response. */
  close(): Promise<void>;
}

/** A request a responder did not answer, reported by the client's `responderror` event. */
export interface ResponderFailure {
  /** The responder's filter. */
  readonly filter: string;
  /** The request. */
  readonly request: Message;
  /** What the handler threw, or why its response could not be published. */
  readonly error: unknown;
}

/** What requests and responders need from the client. */
export interface RequestHost {
  readonly protocolVersion: ProtocolVersion;
  readonly maxPendingRequests: number;
  publish(topic: string, payload: string | Uint8Array, options: PublishOptions): Promise<void>;
  subscribe(filter: string, options: SubscribeOptions): Promise<Subscription>;
  /**
   * Resolves once connected, with what the response topic is built from: the client
   * identifier in use and the CONNACK's Response Information.
   */
  connected(): Promise<{ readonly clientId: string; readonly responseInformation?: string }>;
  /** Emits `responderror`. */
  responderFailed(failure: ResponderFailure): void;
}

interface Pending {
  readonly resolve: (message: Message) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

function requireV5(host: RequestHost, operation: string): void {
  if (host.protocolVersion !== 5) {
    throw new InvalidOptionError(
      'protocolVersion',
      `${operation} needs MQTT 5.0 (Response Topic and Correlation Data): set protocolVersion: 5`,
    );
  }
}

function checkQos(value: unknown): QoS {
  if (value !== 0 && value !== 1 && value !== 2) {
    throw new InvalidOptionError('qos', `must be 0, 1 or 2, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The pending requests of one client, and its subscriptions to response topics. */
export class Requests {
  readonly #host: RequestHost;
  /**
   * Correlation Data (hex) → the request waiting for it. Both maps are created by the first
   * request: most clients never make one, and an empty Map costs ~150 bytes each.
   */
  get #pending(): Map<string, Pending> {
    this.#pendingMap ??= new Map();
    return this.#pendingMap;
  }
  #pendingMap: Map<string, Pending> | undefined;
  /** Response topic → its subscription, made once. */
  get #topics(): Map<string, Promise<Subscription>> {
    this.#topicsMap ??= new Map();
    return this.#topicsMap;
  }
  #topicsMap: Map<string, Promise<Subscription>> | undefined;
  #unmatched = 0;
  /** The response topic's level for a client id that cannot be one, made once. */
  #randomLevel: string | undefined;

  constructor(host: RequestHost) {
    this.#host = host;
  }

  /** Requests waiting for their response. */
  get pendingCount(): number {
    return this.#pendingMap?.size ?? 0;
  }

  /** Responses that matched no pending request (late, duplicated or someone else's). */
  get unmatchedCount(): number {
    return this.#unmatched;
  }

  /** See {@link Client.request}. */
  async request(
    topic: string,
    payload: string | Uint8Array,
    options: RequestOptions = {},
  ): Promise<Message> {
    requireV5(this.#host, 'request()');
    checkObject(options, 'options');
    checkKnownKeys(options, REQUEST_KEYS, '');
    validateTopicName(topic);
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TIMEOUT_MS) {
      throw new InvalidOptionError(
        'timeoutMs',
        `must be an integer from 1 to ${MAX_TIMEOUT_MS}, got ${typeof timeoutMs === 'number' ? timeoutMs : typeName(timeoutMs)}`,
      );
    }
    const qos = checkQos(options.qos ?? 1);
    const properties = options.properties ?? {};
    checkObject(properties, 'properties');
    for (const own of ['responseTopic', 'correlationData'] as const) {
      if (properties[own] !== undefined) {
        throw new InvalidOptionError(
          `properties.${own}`,
          own === 'responseTopic'
            ? 'is set by request(): give options.responseTopic instead'
            : 'is set by request(): each request gets its own',
        );
      }
    }
    if (options.responseTopic !== undefined) {
      validateTopicName(options.responseTopic);
      if (!this.#topics.has(options.responseTopic) && this.#topics.size >= MAX_RESPONSE_TOPICS) {
        throw new InvalidOptionError(
          'responseTopic',
          `at most ${MAX_RESPONSE_TOPICS} response topics per client, each one a subscription kept until the client ends`,
        );
      }
    }
    if (this.#pending.size >= this.#host.maxPendingRequests) {
      throw new QueueFullError(
        'refused',
        `request to ${JSON.stringify(topic)} refused: ${this.#pending.size} requests are waiting for their response (maxPendingRequests)`,
      );
    }
    const correlationData = randomBytes(CORRELATION_BYTES);
    const key = hex(correlationData);
    const response = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        reject(new RequestTimeoutError(topic, timeoutMs));
      }, timeoutMs);
      this.#pending.set(key, { resolve, reject, timer });
    });
    // Not awaited: the timeout covers waiting for a connection and the SUBACK too.
    void this.#send(key, topic, payload, {
      qos,
      properties,
      correlationData,
      responseTopic: options.responseTopic,
    });
    return response;
  }

  async #send(
    key: string,
    topic: string,
    payload: string | Uint8Array,
    how: {
      qos: QoS;
      properties: OutgoingPublishProperties;
      correlationData: Uint8Array;
      responseTopic: string | undefined;
    },
  ): Promise<void> {
    try {
      const responseTopic = how.responseTopic ?? (await this.#defaultResponseTopic());
      // Subscribed before the request goes out: the response cannot arrive unheard.
      await this.#listen(responseTopic, how.qos);
      if (!this.#pending.has(key)) return; // timed out meanwhile: nothing is sent
      await this.#host.publish(topic, payload, {
        qos: how.qos,
        properties: { ...how.properties, responseTopic, correlationData: how.correlationData },
      });
    } catch (error) {
      this.#settle(key)?.reject(error);
    }
  }

  /** Every pending request rejects (the client ended). */
  rejectAll(error: unknown): void {
    if (this.#pendingMap === undefined) return;
    for (const key of [...this.#pendingMap.keys()]) this.#settle(key)?.reject(error);
  }

  /** See {@link Client.respond}. */
  async respond(
    filter: string,
    handler: (request: Message) => ResponseReply | Promise<ResponseReply>,
    options: RespondOptions = {},
  ): Promise<Responder> {
    requireV5(this.#host, 'respond()');
    checkObject(options, 'options');
    checkKnownKeys(options, RESPOND_KEYS, '');
    validateTopicFilter(filter);
    if (typeof handler !== 'function') {
      throw new InvalidOptionError('handler', `must be a function, got ${typeName(handler)}`);
    }
    const qos = checkQos(options.qos ?? 1);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new InvalidOptionError(
        'concurrency',
        `must be an integer from 1 to ${MAX_CONCURRENCY}, got ${JSON.stringify(concurrency)}`,
      );
    }
    const subscription = await this.#host.subscribe(filter, { qos });
    const responder = new ResponderImpl(filter, subscription);
    void this.#serve(responder, subscription, handler, concurrency);
    return responder;
  }

  async #serve(
    responder: ResponderImpl,
    subscription: Subscription,
    handler: (request: Message) => ResponseReply | Promise<ResponseReply>,
    concurrency: number,
  ): Promise<void> {
    // At most `concurrency` requests at once. The next one is read only when a slot is free:
    // unread requests hold back their acknowledgements, so the broker's flow control bounds
    // what waits (with 1, requests are answered one at a time, in arrival order).
    let active = 0;
    let slotFreed: (() => void) | undefined;
    for await (const request of subscription) {
      if (request.properties?.responseTopic === undefined) {
        responder.skipped++;
        continue;
      }
      active++;
      const answered = this.#answer(responder, request, handler).finally(() => {
        active--;
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
      if (concurrency === 1) {
        await answered;
        continue;
      }
      if (active >= concurrency) {
        await new Promise<void>((resolve) => {
          slotFreed = resolve;
        });
      }
    }
  }

  /** Answers one request; a failure is counted and reported, never thrown. */
  async #answer(
    responder: ResponderImpl,
    request: Message,
    handler: (request: Message) => ResponseReply | Promise<ResponseReply>,
  ): Promise<void> {
    const props = request.properties;
    try {
      const reply = await handler(request);
      const { payload, properties } =
        typeof reply === 'string' || reply instanceof Uint8Array
          ? { payload: reply, properties: undefined }
          : reply;
      await this.#host.publish(props!.responseTopic!, payload, {
        qos: request.qos,
        properties: {
          ...properties,
          // The requester pairs the response by it: always the request's own [MQTT-4.10].
          ...(props?.correlationData === undefined
            ? {}
            : { correlationData: props.correlationData }),
        },
      });
      responder.answered++;
    } catch (error) {
      responder.failed++;
      this.#host.responderFailed({ filter: responder.filter, request, error });
    }
  }

  async #defaultResponseTopic(): Promise<string> {
    const { clientId, responseInformation } = await this.#host.connected();
    if (responseInformation !== undefined && responseInformation.length > 0) {
      const base = responseInformation.endsWith('/')
        ? responseInformation.slice(0, -1)
        : responseInformation;
      return `${base}/responses`;
    }
    // A client id that cannot be a topic level (empty, `/`, wildcards, a leading `$` that
    // marks server topics) gets a random level instead.
    if (clientId.length > 0 && !/[/+#]/.test(clientId) && !clientId.startsWith('$')) {
      return `${clientId}/responses`;
    }
    this.#randomLevel ??= `courier-${hex(randomBytes(8))}`;
    return `${this.#randomLevel}/responses`;
  }

  /** Subscribes to a response topic once, and pairs what arrives there with its request. */
  #listen(responseTopic: string, qos: QoS): Promise<Subscription> {
    let subscription = this.#topics.get(responseTopic);
    if (subscription === undefined) {
      subscription = this.#host.subscribe(responseTopic, { qos: qos === 0 ? 1 : qos });
      this.#topics.set(responseTopic, subscription);
      subscription.then(
        (s) => void this.#consume(responseTopic, s),
        () => this.#topics.delete(responseTopic),
      );
    }
    return subscription;
  }

  async #consume(responseTopic: string, subscription: Subscription): Promise<void> {
    for await (const response of subscription) {
      const correlationData = response.properties?.correlationData;
      const pending =
        correlationData === undefined ? undefined : this.#settle(hex(correlationData));
      if (pending === undefined) this.#unmatched++;
      else pending.resolve(response);
    }
    // Unsubscribed or the client ended: the next request subscribes again.
    this.#topics.delete(responseTopic);
  }

  #settle(key: string): Pending | undefined {
    const pending = this.#pending.get(key);
    if (pending === undefined) return undefined;
    this.#pending.delete(key);
    clearTimeout(pending.timer);
    return pending;
  }
}

class ResponderImpl implements Responder {
  readonly filter: string;
  readonly #subscription: Subscription;
  answered = 0;
  failed = 0;
  skipped = 0;

  constructor(filter: string, subscription: Subscription) {
    this.filter = filter;
    this.#subscription = subscription;
  }

  close(): Promise<void> {
    return this.#subscription.unsubscribe();
  }
}

/** Random bytes from the platform's Web Crypto (Node and browsers alike). */
function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

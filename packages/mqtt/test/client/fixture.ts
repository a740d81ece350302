/**
 * Helpers shared by the client tests that run against a real broker the test started
 * (Mosquitto at 3.1.1 or 5.0): connecting a client that is closed when the test ends, and
 * reading messages with a deadline.
 *
 * @module
 */
import assert from 'node:assert/strict';
import {
  type Client,
  type ClientOptions,
  type ClientState,
  connect,
  type Message,
  type Subscription,
} from 'courier-mqtt';

/** The part of a test context the helpers need: a hook run when the test ends. */
export type AfterHook = { after(fn: () => unknown): void };

/** UTF-8 bytes of a string. */
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A message's payload as UTF-8 text. */
export const text = (m: Message): string => new TextDecoder().decode(m.payload);

/**
 * Connects a client with a 5 s connect timeout and ends it (forced) when the test ends.
 * Reconnection stays at the library's default unless `options` says otherwise.
 */
export async function connectForTest(
  t: AfterHook,
  url: string,
  options: ClientOptions = {},
): Promise<Client> {
  const client = await connect(url, { connectTimeoutMs: 5000, ...options });
  t.after(() => client.end({ force: true }));
  return client;
}

/** {@link connectForTest} without reconnection: a lost connection fails the test loudly. */
export function open(t: AfterHook, url: string, options: ClientOptions = {}): Promise<Client> {
  return connectForTest(t, url, { reconnect: false, ...options });
}

/** {@link open} at MQTT 5.0. */
export function openV5(t: AfterHook, url: string, options: ClientOptions = {}): Promise<Client> {
  return open(t, url, { protocolVersion: 5, ...options });
}

/** Reads `n` messages from a subscription, failing after `timeoutMs`. */
export async function take(sub: Subscription, n: number, timeoutMs = 5000): Promise<Message[]> {
  const out: Message[] = [];
  const iterator = sub[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const left = deadline - Date.now();
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, left))),
    ]);
    if (next === 'timeout')
      throw new Error(`received ${out.length} of ${n} messages in ${timeoutMs} ms`);
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

/** Resolves once the client has lost its connection and connected again. */
export function reconnected(client: Client): Promise<void> {
  return new Promise((resolve) => {
    let lost = false;
    const listener = (s: { status: string }): void => {
      if (s.status !== 'connected') lost = true;
      else if (lost) {
        client.off('state', listener);
        resolve();
      }
    };
    client.on('state', listener);
  });
}

/** Resolves with the first state of the client's state stream that `accept` accepts. */
export async function stateWhere(
  client: Client,
  accept: (s: ClientState) => boolean,
): Promise<ClientState> {
  for await (const state of client.states()) if (accept(state)) return state;
  throw new Error('state stream ended');
}

/**
 * Resolves with the error a connect attempt failed with; an attempt that connects fails the
 * test. Called on the attempt at once, so that its rejection is never left unhandled.
 */
export function refusal(attempt: Promise<unknown>): Promise<unknown> {
  return attempt.then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
}

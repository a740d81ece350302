/**
 * SCRAM-SHA-256 (RFC 5802 with RFC 7677's hash) as an MQTT 5.0 {@link Authenticator}.
 *
 * The exchange on an MQTT connection (method `SCRAM-SHA-256`):
 *
 * ```
 *  CONNECT   data = client-first-message    n,,n=user,r=<client nonce>
 *  AUTH 0x18 data = server-first-message    r=<client nonce><server nonce>,s=<salt>,i=<count>
 *  AUTH 0x18 data = client-final-message    c=biws,r=<nonce>,p=<proof>
 *  CONNACK 0x00 data = server-final-message v=<server signature>   (or AUTH 0x00 on re-auth)
 * ```
 *
 * The server's signature is verified (in constant time) before {@link Authenticator.success}
 * returns: a server that does not know the password cannot pass for the real one. A server
 * that sends its final message in an AUTH 0x18 instead is verified there and answered with
 * empty data (SASL's "additional data with success" carried the other way).
 *
 * Choices:
 * - no channel binding and no authorization identity: the GS2 header is `n,,` (`c=biws`);
 * - the iteration count must lie in `[minIterationCount, maxIterationCount]`, by default
 *   `[4096, 2^20]`. Below 4096 (RFC 7677 §4's floor) is refused, not warned about: a
 *   man in the middle could offer `i=1` to make an offline guess at the password from our
 *   proof cheap. Above 2^20 is refused: a device should not spend seconds of CPU because a
 *   server asked it to;
 * - the key derivation (PBKDF2) runs on Node's thread pool, and its result is kept for the
 *   last salt and count, so a re-authentication against the same server costs two HMACs;
 * - every server message is bounded ({@link SCRAM_MAX_MESSAGE_BYTES}), and each attribute
 *   value ({@link SCRAM_MAX_ATTRIBUTE_CHARS}); user name and password are prepared with
 *   SASLprep (see `saslprep.ts` for what it covers).
 *
 * @module
 */

import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, InvalidOptionError } from '../errors.js';
import { checkKnownKeys, type KnownKeys } from '../option-checks.js';
import type { Authenticator } from './authenticator.js';
import { saslprep } from './saslprep.js';

/** The Authentication Method name of SCRAM-SHA-256 (the SASL mechanism name, RFC 7677). */
export const SCRAM_SHA_256 = 'SCRAM-SHA-256';

/** The largest server message accepted, in bytes of UTF-8. */
export const SCRAM_MAX_MESSAGE_BYTES = 4096;

/** The longest attribute value accepted in a server message (nonce, salt, signature, error). */
export const SCRAM_MAX_ATTRIBUTE_CHARS = 1024;

/** The longest user name and password accepted, in bytes of UTF-8 after SASLprep. */
export const SCRAM_MAX_CREDENTIAL_BYTES = 1024;

/** RFC 7677 §4: "the iteration count … SHOULD be at least 4096". */
const DEFAULT_MIN_ITERATIONS = 4096;
const DEFAULT_MAX_ITERATIONS = 2 ** 20;
/** The highest `maxIterationCount` accepted: about 2^24 PBKDF2 rounds is tens of seconds. */
const MAX_ITERATIONS_LIMIT = 2 ** 24;

/** SHA-256 output, in bytes: the length of keys, proofs and signatures. */
const HASH_BYTES = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Options of {@link ScramSha256Authenticator}. */
export interface ScramOptions {
  /** The user name; prepared with SASLprep, then `=` and `,` escaped as RFC 5802 §5.1 says. */
  readonly username: string;
  /** The password; prepared with SASLprep. */
  readonly password: string;
  /**
   * The lowest iteration count a server may ask for; a lower one is refused with an
   * `AuthenticationError`. Lower it only for a known legacy server.
   * @default 4096
   */
  readonly minIterationCount?: number;
  /**
   * The highest iteration count a server may ask for (CPU spent on this device), at most 2^24.
   * @default 1048576 (2^20)
   */
  readonly maxIterationCount?: number;
  /**
   * Makes the client nonce: printable ASCII without `,`, 1 to 1024 characters. For tests
   * (RFC test vectors); the default draws 24 random bytes, base64-encoded.
   */
  readonly clientNonce?: () => string;
}

const knownScramOptions = {
  username: true,
  password: true,
  minIterationCount: true,
  maxIterationCount: true,
  clientNonce: true,
} as const satisfies KnownKeys<ScramOptions>;

/** Where the exchange is. */
type State =
  | { readonly step: 'idle' }
  | { readonly step: 'first-sent'; readonly nonce: string; readonly clientFirstBare: string }
  | { readonly step: 'final-sent'; readonly serverSignature: Uint8Array }
  | { readonly step: 'verified' }
  | { readonly step: 'failed' };

/** printable = %x21-2B / %x2D-7E (RFC 5802 §7): visible ASCII except `,`. */
const PRINTABLE = /^[\x21-\x2B\x2D-\x7E]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A positive decimal number without leading zeros, short enough to parse exactly. */
const POSITIVE_NUMBER = /^[1-9][0-9]{0,9}$/;

/**
 * The client side of SCRAM-SHA-256 for MQTT 5.0 enhanced authentication.
 *
 * ```ts
 * const authenticator = new ScramSha256Authenticator({ username: 'user', password: 'pencil' });
 * ```
 *
 * Every malformed, oversize or out-of-order server message, an `e=` error from the server
 * and a server signature that does not verify fail with an `AuthenticationError` whose
 * `field` names the message and attribute (`server-first-message.i`). After a failure the
 * exchange stays failed until the next {@link start} or {@link reauthenticate}.
 */
export class ScramSha256Authenticator implements Authenticator {
  readonly method = SCRAM_SHA_256;

  readonly #username: string;
  readonly #password: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  readonly #makeNonce: () => string;
  #state: State = { step: 'idle' };
  /** The keys derived for the last salt and count, kept for re-authentication. */
  #cache: { salt: string; iterations: number; clientKey: Buffer; serverKey: Buffer } | undefined;

  /** @throws {@link InvalidOptionError} naming the field (`scram.username`, …) */
  constructor(options: ScramOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('scram', 'must be an object with username and password');
    }
    checkKnownKeys(options, knownScramOptions, 'scram.');
    this.#username = credential(options.username, 'scram.username');
    this.#password = credential(options.password, 'scram.password');
    this.#minIterations = count(
      options.minIterationCount,
      'scram.minIterationCount',
      1,
      DEFAULT_MIN_ITERATIONS,
    );
    this.#maxIterations = count(
      options.maxIterationCount,
      'scram.maxIterationCount',
      this.#minIterations,
      DEFAULT_MAX_ITERATIONS,
    );
    if (options.clientNonce !== undefined && typeof options.clientNonce !== 'function') {
      throw new InvalidOptionError('scram.clientNonce', 'must be a function returning a string');
    }
    this.#makeNonce = options.clientNonce ?? (() => randomBytes(24).toString('base64'));
  }

  /** The client-first-message: `n,,n=<user>,r=<client nonce>`. */
  start(): Uint8Array {
    const nonce = this.#makeNonce();
    if (
      typeof nonce !== 'string' ||
      nonce.length > SCRAM_MAX_ATTRIBUTE_CHARS ||
      !PRINTABLE.test(nonce)
    ) {
      this.#state = { step: 'failed' };
      throw new InvalidOptionError(
        'scram.clientNonce',
        `must return 1 to ${SCRAM_MAX_ATTRIBUTE_CHARS} printable ASCII characters without ","`,
      );
    }
    const clientFirstBare = `n=${escapeName(this.#username)},r=${nonce}`;
    this.#state = { step: 'first-sent', nonce, clientFirstBare };
    return encoder.encode(`n,,${clientFirstBare}`);
  }

  /** A re-authentication is a new SCRAM exchange with a fresh nonce. */
  reauthenticate(): Uint8Array {
    return this.start();
  }

  /**
   * Answers the server-first-message with the client-final-message; or verifies a
   * server-final-message sent in an AUTH 0x18 and answers with empty data.
   */
  async challenge(data: Uint8Array | undefined): Promise<Uint8Array> {
    const state = this.#state;
    try {
      if (state.step === 'first-sent') {
        return await this.#clientFinal(state, data);
      }
      if (state.step === 'final-sent') {
        this.#verify(state.serverSignature, data);
        this.#state = { step: 'verified' };
        return new Uint8Array(0);
      }
      throw this.#error(`unexpected challenge: ${describe(state)}`);
    } catch (error) {
      // A start() made while the key derivation ran owns the state now: leave it alone.
      if (this.#state === state) this.#state = { step: 'failed' };
      throw error;
    }
  }

  /**
   * Verifies the server-final-message carried by CONNACK / AUTH 0x00; with no data, the
   * server must have sent it already in an AUTH 0x18.
   */
  success(data: Uint8Array | undefined): void {
    const state = this.#state;
    try {
      if (state.step === 'final-sent') {
        if (data === undefined) {
          throw this.#error(
            'the server declared success without its server-final-message: it did not prove it knows the password',
            'server-final-message',
          );
        }
        this.#verify(state.serverSignature, data);
      } else if (state.step === 'verified') {
        if (data !== undefined && data.length > 0) {
          throw this.#error('data after the server-final-message', 'server-final-message');
        }
      } else {
        throw this.#error(`the server declared success early: ${describe(state)}`);
      }
      this.#state = { step: 'idle' };
    } catch (error) {
      this.#state = { step: 'failed' };
      throw error;
    }
  }

  async #clientFinal(
    state: Extract<State, { step: 'first-sent' }>,
    data: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    const { nonce, clientFirstBare } = state;
    const message = 'server-first-message';
    const text = this.#text(data, message);
    const attributes = this.#attributes(text, message);
    const first = attributes[0];
    if (first?.[0] === 'm') {
      throw this.#error('a mandatory extension this client does not support', `${message}.m`);
    }
    const [serverNonce, salt64, iterations64] = [0, 1, 2].map((index) => {
      const name = 'rsi'[index]!;
      const attribute = attributes[index];
      if (attribute?.[0] !== name) {
        throw this.#error(
          `attribute ${index + 1} must be "${name}=", got ${attribute === undefined ? 'nothing' : JSON.stringify(`${attribute[0]}=`)}`,
          `${message}.${name}`,
        );
      }
      return attribute[1];
    }) as [string, string, string];
    // Attributes after `i` are extensions: RFC 5802 §7 lets the client ignore them.

    if (!PRINTABLE.test(serverNonce)) {
      throw this.#error(
        'the nonce holds a character outside printable ASCII or a ","',
        `${message}.r`,
      );
    }
    // RFC 5802 §5.1: the server appends its nonce to ours. One that does not extend ours is
    // not an answer to this exchange (a replay, or a man in the middle).
    if (!serverNonce.startsWith(nonce) || serverNonce.length === nonce.length) {
      throw this.#error(
        'the nonce does not extend the client nonce with a server part',
        `${message}.r`,
      );
    }
    if (!BASE64.test(salt64)) {
      throw this.#error('the salt is not base64', `${message}.s`);
    }
    const salt = Buffer.from(salt64, 'base64');
    if (salt.length === 0) throw this.#error('the salt is empty', `${message}.s`);
    if (!POSITIVE_NUMBER.test(iterations64)) {
      throw this.#error(
        `the iteration count ${JSON.stringify(iterations64)} is not a positive number`,
        `${message}.i`,
      );
    }
    const iterations = Number(iterations64);
    if (iterations < this.#minIterations || iterations > this.#maxIterations) {
      throw this.#error(
        `the iteration count ${iterations} is outside the accepted ${this.#minIterations}..${this.#maxIterations} (scram.minIterationCount / scram.maxIterationCount)`,
        `${message}.i`,
      );
    }

    const { clientKey, serverKey } = await this.#keys(salt64, salt, iterations);
    if (this.#state !== state) {
      // start() or reauthenticate() began another exchange while PBKDF2 ran on the thread
      // pool: this answer belongs to an abandoned exchange and must not overwrite the new one.
      throw this.#error('the exchange was abandoned (start() was called again meanwhile)');
    }
    const clientFinalWithoutProof = `c=biws,r=${serverNonce}`;
    const authMessage = `${clientFirstBare},${text},${clientFinalWithoutProof}`;
    const storedKey = createHash('sha256').update(clientKey).digest();
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(HASH_BYTES);
    for (let i = 0; i < HASH_BYTES; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
    this.#state = { step: 'final-sent', serverSignature: hmac(serverKey, authMessage) };
    return encoder.encode(`${clientFinalWithoutProof},p=${proof.toString('base64')}`);
  }

  /** Checks a server-final-message: `v=<signature>` in constant time, or `e=<error>`. */
  #verify(expected: Uint8Array, data: Uint8Array | undefined): void {
    const message = 'server-final-message';
    const attributes = this.#attributes(this.#text(data, message), message);
    // `e=` was reported by #attributes already.
    const [name, value] = attributes[0]!;
    if (name !== 'v') {
      throw this.#error(
        `attribute 1 must be "v=" or "e=", got ${JSON.stringify(`${name}=`)}`,
        `${message}.v`,
      );
    }
    if (!BASE64.test(value))
      throw this.#error('the server signature is not base64', `${message}.v`);
    const signature = Buffer.from(value, 'base64');
    if (signature.length !== expected.length) {
      throw this.#error(
        `the server signature has ${signature.length} bytes, not ${expected.length}`,
        `${message}.v`,
      );
    }
    if (!timingSafeEqual(signature, expected)) {
      throw this.#error(
        'the server signature does not verify: the server does not know the password',
        `${message}.v`,
      );
    }
  }

  /** The server's data as text, bounded and valid UTF-8. */
  #text(data: Uint8Array | undefined, message: string): string {
    if (data === undefined || data.length === 0) throw this.#error('no data', message);
    if (data.length > SCRAM_MAX_MESSAGE_BYTES) {
      throw this.#error(
        `${data.length} bytes, more than the ${SCRAM_MAX_MESSAGE_BYTES} accepted`,
        message,
      );
    }
    try {
      return decoder.decode(data);
    } catch (cause) {
      throw new AuthenticationError(this.method, 'not valid UTF-8', { field: message, cause });
    }
  }

  /** `a=value,b=value,…` as pairs; a bare `e=` server error is reported wherever it comes. */
  #attributes(text: string, message: string): [string, string][] {
    const attributes = text.split(',').map((part, index): [string, string] => {
      if (!/^[A-Za-z]=/.test(part)) {
        throw this.#error(`part ${index + 1} is not an "attribute=value" pair`, message);
      }
      const value = part.slice(2);
      if (value.length > SCRAM_MAX_ATTRIBUTE_CHARS) {
        throw this.#error(
          `the value has ${value.length} characters, more than the ${SCRAM_MAX_ATTRIBUTE_CHARS} accepted`,
          `${message}.${part[0]}`,
        );
      }
      return [part[0]!, value];
    });
    const first = attributes[0]!;
    // RFC 5802 defines `e=` for the server-final-message only; a server that fails early and
    // says so in its first message is reported the same way rather than as malformed.
    if (first[0] === 'e') {
      throw new AuthenticationError(
        this.method,
        `the server reported ${JSON.stringify(first[1])}`,
        {
          field: `${message}.e`,
          serverError: first[1],
        },
      );
    }
    return attributes;
  }

  /** ClientKey and ServerKey for a salt and count; PBKDF2 only when they changed. */
  async #keys(
    salt64: string,
    salt: Buffer,
    iterations: number,
  ): Promise<{ clientKey: Buffer; serverKey: Buffer }> {
    const cached = this.#cache;
    if (cached !== undefined && cached.salt === salt64 && cached.iterations === iterations)
      return cached;
    // Hi(str, salt, i) of RFC 5802 §2.2 is PBKDF2 with HMAC as the PRF and dkLen = hash length.
    const saltedPassword = await new Promise<Buffer>((resolve, reject) =>
      pbkdf2(this.#password, salt, iterations, HASH_BYTES, 'sha256', (error, key) =>
        error === null ? resolve(key) : reject(error),
      ),
    );
    const keys = {
      salt: salt64,
      iterations,
      clientKey: hmac(saltedPassword, 'Client Key'),
      serverKey: hmac(saltedPassword, 'Server Key'),
    };
    saltedPassword.fill(0);
    this.#cache = keys;
    return keys;
  }

  #error(message: string, field?: string): AuthenticationError {
    return new AuthenticationError(
      this.method,
      message,
      field === undefined ? undefined : { field },
    );
  }
}

function hmac(key: Uint8Array, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** RFC 5802 §5.1: `=` becomes `=3D` and `,` becomes `=2C` in a saslname. */
function escapeName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function describe(state: State): string {
  switch (state.step) {
    case 'idle':
      return 'no exchange in progress (start() or reauthenticate() first)';
    case 'first-sent':
      return 'the server-first-message is still awaited';
    case 'final-sent':
      return 'the server-final-message is still awaited';
    case 'verified':
      return 'the exchange is already complete';
    case 'failed':
      return 'the exchange failed earlier';
  }
}

function credential(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidOptionError(field, 'must be a non-empty string');
  }
  const prepared = saslprep(value, field);
  const bytes = encoder.encode(prepared).length;
  if (bytes === 0 || bytes > SCRAM_MAX_CREDENTIAL_BYTES) {
    throw new InvalidOptionError(
      field,
      `must be 1 to ${SCRAM_MAX_CREDENTIAL_BYTES} bytes of UTF-8 after SASLprep, got ${bytes}`,
    );
  }
  return prepared;
}

function count(value: unknown, field: string, min: number, fallback: number): number {
  if (value === undefined) return Math.max(fallback, min);
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < min ||
    value > MAX_ITERATIONS_LIMIT
  ) {
    throw new InvalidOptionError(
      field,
      `must be an integer from ${min} to ${MAX_ITERATIONS_LIMIT}`,
    );
  }
  return value;
}

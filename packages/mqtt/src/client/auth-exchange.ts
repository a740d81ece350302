/**
 * MQTT 5.0 enhanced authentication on a connection (§4.12): drives the client's
 * {@link Authenticator} through the AUTH rounds of a connect and of a re-authentication.
 *
 * The session never sees an AUTH packet: the client hands every packet to
 * {@link AuthExchange.receive} first, which takes the AUTH packets, and holds a successful
 * CONNACK back (reading paused) until the authenticator has verified the server's final data;
 * only then does the session accept the connection.
 *
 * ```
 *              start() ─► CONNECT method, data
 *   idle ─────────────────────────────────► connect ──CONNACK 0, success() ok──► idle
 *    ▲  │ reauthenticate(): AUTH 0x19          │ AUTH 0x18 ─► challenge() ─► AUTH 0x18
 *    │  ▼                                      │ CONNACK 0x87/0x8C, a step throws,
 *    │ reauth ──AUTH 0x00, success() ok──► idle│ too many rounds, a protocol error:
 *    │  │ AUTH 0x18 ─► challenge() ─► AUTH 0x18│ AuthenticationError / ProtocolError,
 *    │  │ failure, time-out: DISCONNECT 0x87,  │ connection closed
 *    └──┴── connection closed [MQTT-4.12.1-2] ─┘
 * ```
 *
 * Authentication data is secret material (a SCRAM proof lets an eavesdropper guess the
 * password offline): it is never put in an error message, and `withoutSecrets` (redact.ts) takes it
 * out of the packets the client shows to `packetsend` / `packetreceive` listeners.
 *
 * @module
 */

import type { Authenticator } from '../auth/authenticator.js';
import {
  AuthenticationError,
  ConnectionRefusedError,
  type MqttError,
  ProtocolError,
  ServerDisconnectError,
} from '../errors.js';
import type { AuthPacket, ConnackPacket, DisconnectPacket, Packet } from '../packet/types.js';

/**
 * The most AUTH 0x18 rounds the server may ask for in one exchange. SCRAM needs one; no
 * method in use needs more than a handful. A server that keeps asking is not going to finish:
 * the exchange fails instead of running for ever.
 */
export const MAX_AUTH_ROUNDS = 10;

/** Reason codes of §4.12 (AUTH) and the refusals that end an exchange. */
const SUCCESS = 0x00;
const CONTINUE = 0x18;
const REAUTHENTICATE = 0x19;
const NOT_AUTHORIZED = 0x87;
const BAD_AUTHENTICATION_METHOD = 0x8c;
const PROTOCOL_ERROR = 0x82;

/** What an exchange needs from the client. */
export interface AuthHost {
  /** Writes an AUTH or DISCONNECT to the current connection. */
  send(packet: AuthPacket | DisconnectPacket): void;
  /** Ends the current connection with `error` (what was sent last goes out first). */
  fail(error: MqttError): void;
  /** Stops (true) or resumes (false) reading the connection. */
  pauseReading(paused: boolean): void;
  /** The CONNACK held back by the exchange has been verified: the session may take it. */
  accepted(connack: ConnackPacket): void;
  /** The server, as a URL without credentials, for errors. */
  server(): string;
}

/** The Authentication Method and Data of a CONNECT. */
export interface ConnectAuthentication {
  readonly authenticationMethod: string;
  readonly authenticationData?: Uint8Array;
}

interface Pending {
  resolve(): void;
  reject(error: Error): void;
  promise: Promise<void>;
  timer: ReturnType<typeof setTimeout>;
}

/** The client's side of enhanced authentication on one connection at a time. */
export class AuthExchange {
  readonly #authenticator: Authenticator;
  readonly #host: AuthHost;
  readonly #timeoutMs: number;
  #phase: 'idle' | 'connect' | 'reauth' = 'idle';
  #rounds = 0;
  /** An authenticator step is running: the server must wait for our answer. */
  #busy = false;
  /** Bumped whenever an exchange ends, so that a late step of an old one is ignored. */
  #generation = 0;
  #pending: Pending | undefined;

  /**
   * @param timeoutMs - how long a re-authentication may take before it fails (the connect's
   *   exchange is bounded by the CONNACK deadline)
   */
  constructor(authenticator: Authenticator, host: AuthHost, timeoutMs: number) {
    this.#authenticator = authenticator;
    this.#host = host;
    this.#timeoutMs = timeoutMs;
  }

  /** The Authentication Method. */
  get method(): string {
    return this.#authenticator.method;
  }

  /** True while a re-authentication is in progress. */
  get reauthenticating(): boolean {
    return this.#phase === 'reauth';
  }

  /**
   * A connection is about to send CONNECT: begins the exchange (the authenticator forgets
   * any unfinished one) and returns the CONNECT's Authentication Method and Data.
   */
  start(): ConnectAuthentication {
    this.#reset();
    this.#phase = 'connect';
    const data = this.#authenticator.start();
    return {
      authenticationMethod: this.#authenticator.method,
      ...(data === undefined ? {} : { authenticationData: data }),
    };
  }

  /**
   * Sends AUTH 0x19 on the open connection and answers the rounds [MQTT-4.12.1-1]. Resolves
   * on the server's AUTH 0x00 once its final data verified; rejects with an
   * {@link AuthenticationError} otherwise, and the connection is closed [MQTT-4.12.1-2].
   * A call while one is in progress returns the same promise.
   */
  reauthenticate(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending.promise;
    let settle!: { resolve(): void; reject(error: Error): void };
    const promise = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const timer = setTimeout(
      () =>
        this.#fail(
          new AuthenticationError(
            this.method,
            `re-authentication not completed by ${this.#host.server()} within ${this.#timeoutMs} ms`,
          ),
        ),
      this.#timeoutMs,
    );
    timer.unref?.();
    this.#pending = { ...settle, promise, timer };
    this.#phase = 'reauth';
    this.#rounds = 0;
    let data: Uint8Array | undefined;
    try {
      data = this.#authenticator.reauthenticate();
    } catch (error) {
      this.#fail(this.#asAuthError(error, 'reauthenticate()'));
      return promise;
    }
    this.#host.send(this.#auth(REAUTHENTICATE, data));
    return promise;
  }

  /**
   * Offers a packet from the server to the exchange. Returns true when the exchange took it
   * (an AUTH, a CONNACK held for verification, a refusal turned into an
   * {@link AuthenticationError}): the client then passes it on to nobody.
   */
  receive(packet: Packet): boolean {
    switch (packet.type) {
      case 'auth':
        this.#receiveAuth(packet);
        return true;
      case 'connack':
        if (this.#phase !== 'connect') return false;
        return this.#receiveConnack(packet);
      case 'disconnect': {
        // A server refusing the re-authentication closes with 0x87 or 0x8C: say so as an
        // authentication failure, with the server's DISCONNECT as the cause.
        const code = packet.reasonCode ?? 0;
        if (this.#phase !== 'reauth' || !isAuthRefusal(code)) return false;
        const p = packet.properties;
        const cause = new ServerDisconnectError(this.#host.server(), code, {
          ...(p?.reasonString === undefined ? {} : { reasonString: p.reasonString }),
        });
        this.#fail(
          new AuthenticationError(this.method, `re-authentication refused: ${cause.message}`, {
            cause,
          }),
          false,
        );
        return true;
      }
      default:
        return false;
    }
  }

  /** The connection is gone: a re-authentication in progress rejects with `error`. */
  connectionLost(error: MqttError): void {
    const pending = this.#pending;
    this.#reset();
    if (pending !== undefined) {
      pending.reject(
        error instanceof AuthenticationError
          ? error
          : new AuthenticationError(this.method, 're-authentication ended with the connection', {
              cause: error,
            }),
      );
    }
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────

  #receiveAuth(packet: AuthPacket): void {
    const method = packet.properties?.authenticationMethod;
    if (method !== this.method) {
      // [MQTT-4.12.0-5] Every AUTH carries the CONNECT's method.
      this.#protocolError(
        `AUTH with Authentication Method ${method === undefined ? 'missing' : JSON.stringify(method)}, not the CONNECT's ${JSON.stringify(this.method)}`,
        'MQTT-4.12.0-5',
      );
      return;
    }
    if (this.#phase === 'idle' || this.#busy) {
      this.#protocolError(
        this.#busy
          ? 'AUTH before our answer to the previous one'
          : 'AUTH outside an authentication exchange',
        'MQTT-4.12.0-3',
      );
      return;
    }
    const data = packet.properties?.authenticationData;
    if (packet.reasonCode === CONTINUE) {
      this.#rounds++;
      if (this.#rounds > MAX_AUTH_ROUNDS) {
        this.#fail(
          new AuthenticationError(
            this.method,
            `${this.#host.server()} asked for more than ${MAX_AUTH_ROUNDS} rounds (AUTH 0x18): the exchange does not end`,
          ),
        );
        return;
      }
      this.#step(
        () => this.#authenticator.challenge(data),
        'challenge()',
        (answer) => {
          // [MQTT-4.12.0-3] Each answer is an AUTH 0x18 with the same method.
          this.#host.send(this.#auth(CONTINUE, answer));
        },
      );
      return;
    }
    if (packet.reasonCode === SUCCESS && this.#phase === 'reauth') {
      this.#step(
        () => this.#authenticator.success(data),
        'success()',
        () => {
          const pending = this.#pending;
          this.#reset();
          pending?.resolve();
        },
      );
      return;
    }
    // 0x00 during connect (the connect ends with CONNACK), 0x19 (the client's alone), or an
    // unknown code [MQTT-3.15.2-1].
    this.#protocolError(
      `AUTH reason code 0x${packet.reasonCode.toString(16).padStart(2, '0')} during ${this.#phase === 'connect' ? 'the connect' : 'a re-authentication'}`,
      'MQTT-3.15.2-1',
    );
  }

  #receiveConnack(packet: ConnackPacket): boolean {
    if (packet.returnCode !== SUCCESS) {
      if (!isAuthRefusal(packet.returnCode)) return false;
      const p = packet.properties;
      const cause = new ConnectionRefusedError(packet.returnCode, this.#host.server(), {
        ...(p?.reasonString === undefined ? {} : { reasonString: p.reasonString }),
      });
      // [MQTT-4.12.0-1] [MQTT-4.12.0-4] The server closes the connection; we do too.
      this.#fail(new AuthenticationError(this.method, cause.message, { cause }), false);
      return true;
    }
    const method = packet.properties?.authenticationMethod;
    if (method !== this.method) {
      this.#protocolError(
        `CONNACK with Authentication Method ${method === undefined ? 'missing' : JSON.stringify(method)}, not the CONNECT's ${JSON.stringify(this.method)}`,
        'MQTT-4.12.0-5',
      );
      return true;
    }
    if (this.#busy) {
      this.#protocolError('CONNACK before our answer to its AUTH', 'MQTT-4.12.0-3');
      return true;
    }
    // Nothing of the connection is used (nor read) before the server proved itself.
    this.#host.pauseReading(true);
    this.#step(
      () => this.#authenticator.success(packet.properties?.authenticationData),
      'success()',
      () => {
        this.#reset();
        this.#host.pauseReading(false);
        this.#host.accepted(packet);
      },
    );
    return true;
  }

  /** Runs one authenticator step; its result is used only if the exchange is still on. */
  #step<T>(run: () => T | Promise<T>, what: string, then: (result: T) => void): void {
    const generation = this.#generation;
    this.#busy = true;
    const done = (result: T): void => {
      if (generation !== this.#generation) return;
      this.#busy = false;
      then(result);
    };
    const failed = (error: unknown): void => {
      if (generation !== this.#generation) return;
      this.#busy = false;
      this.#fail(this.#asAuthError(error, what));
    };
    let result: T | Promise<T>;
    try {
      result = run();
    } catch (error) {
      failed(error);
      return;
    }
    if (result instanceof Promise) result.then(done, failed);
    else done(result);
  }

  /**
   * Ends the exchange and the connection with `error`. `tell`: send DISCONNECT 0x87 first
   * (not when the server already closed with its own refusal).
   */
  #fail(error: MqttError, tell = true): void {
    const pending = this.#pending;
    this.#reset();
    // [MQTT-4.12.1-2] A failed (re-)authentication closes the connection.
    if (tell) this.#host.send({ type: 'disconnect', reasonCode: NOT_AUTHORIZED });
    this.#host.fail(error);
    pending?.reject(error);
  }

  #protocolError(message: string, rule: string): void {
    const pending = this.#pending;
    this.#reset();
    const error = new ProtocolError(`${this.#host.server()} sent ${message}`, rule);
    this.#host.send({ type: 'disconnect', reasonCode: PROTOCOL_ERROR });
    this.#host.fail(error);
    pending?.reject(
      new AuthenticationError(this.method, 're-authentication failed on a protocol error', {
        cause: error,
      }),
    );
  }

  #reset(): void {
    this.#generation++;
    this.#phase = 'idle';
    this.#rounds = 0;
    this.#busy = false;
    if (this.#pending !== undefined) clearTimeout(this.#pending.timer);
    this.#pending = undefined;
  }

  #auth(reasonCode: number, data: Uint8Array | undefined): AuthPacket {
    return {
      type: 'auth',
      reasonCode,
      properties: {
        // [MQTT-4.12.1-1] The method of the CONNECT, on every AUTH.
        authenticationMethod: this.method,
        ...(data === undefined ? {} : { authenticationData: data }),
      },
    };
  }

  /** A step's failure as an AuthenticationError (a method's own bug kept as the cause). */
  #asAuthError(error: unknown, what: string): AuthenticationError {
    if (error instanceof AuthenticationError) return error;
    return new AuthenticationError(this.method, `the authenticator's ${what} failed`, {
      cause: error,
    });
  }
}

/**
 * Without enhanced authentication: an AUTH from the server, or an Authentication Method in
 * its CONNACK, breaks [MQTT-4.12.0-6]. Returns the error to close with, or undefined.
 */
export function unsolicitedAuth(packet: Packet, server: string): ProtocolError | undefined {
  const method =
    packet.type === 'auth' || packet.type === 'connack'
      ? packet.properties?.authenticationMethod
      : undefined;
  if (packet.type !== 'auth' && method === undefined) return undefined;
  return new ProtocolError(
    `${server} sent ${packet.type === 'auth' ? 'AUTH' : 'an Authentication Method in CONNACK'}, but our CONNECT carried no Authentication Method`,
    'MQTT-4.12.0-6',
  );
}

/** CONNACK / DISCONNECT reason codes that refuse the authentication itself. */
function isAuthRefusal(code: number): boolean {
  return code === NOT_AUTHORIZED || code === BAD_AUTHENTICATION_METHOD;
}

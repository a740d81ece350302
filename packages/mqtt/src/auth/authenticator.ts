/**
 * The authenticator hook of MQTT 5.0 enhanced authentication (§4.12, the AUTH packet §3.15).
 *
 * Enhanced authentication is a challenge/response exchange carried by the Authentication
 * Method (property 0x15) and Authentication Data (property 0x16) of CONNECT, CONNACK and
 * AUTH. An {@link Authenticator} holds the client's side of one method; the client drives it:
 *
 * ```
 *  client                                   server
 *  CONNECT  method, data = start()   ──▶
 *                                    ◀──    AUTH 0x18 Continue authentication, data
 *  AUTH 0x18 data = challenge(data)  ──▶                (as many rounds as the method needs)
 *                                    ◀──    CONNACK 0x00 Success, data → success(data)
 *
 *  later, re-authentication [MQTT-4.12.1-1]:
 *  AUTH 0x19 data = reauthenticate() ──▶
 *                                    ◀──    AUTH 0x18 … challenge(data) rounds as above
 *                                    ◀──    AUTH 0x00 Success, data → success(data)
 * ```
 *
 * What the client is expected to do around the hook (the spec's rules, not the method's):
 * - every AUTH it sends carries the same Authentication Method as the CONNECT
 *   [MQTT-4.12.0-5] [MQTT-4.12.1-1];
 * - a method error (a thrown {@link AuthenticationError}, or a rejected promise) ends the
 *   exchange: the client sends DISCONNECT (0x87 Not authorized, or 0x8C Bad authentication
 *   method where the method cannot go on) and does not use the connection;
 * - a CONNACK or DISCONNECT with a reason code ≥ 0x80 (the server may refuse at any point,
 *   [MQTT-4.12.0-4]) ends the exchange without calling {@link Authenticator.success}; the
 *   next {@link Authenticator.start} begins afresh; a failed re-authentication closes the
 *   connection [MQTT-4.12.1-2];
 * - an AUTH from the server whose method differs from the CONNECT's [MQTT-4.12.0-5], or any
 *   AUTH when the CONNECT carried no method [MQTT-4.12.0-6], is a Protocol Error (the
 *   client checks this; the authenticator need not).
 *
 * An authenticator is stateful and serves one exchange at a time: one authenticator per client.
 *
 * @module
 */

/**
 * The client's side of one MQTT 5.0 enhanced authentication method.
 *
 * Each step may throw (or reject with) an `AuthenticationError` naming what is wrong in the
 * server's data; any other error is a bug of the method and is treated the same way by the
 * client (the exchange fails, the cause is kept).
 */
export interface Authenticator {
  /**
   * The Authentication Method (property 0x15), e.g. `SCRAM-SHA-256`: a UTF-8 string the
   * server recognises. Sent in CONNECT and in every AUTH of the connection.
   */
  readonly method: string;

  /**
   * Begins an exchange for a new connection: the initial Authentication Data (0x16) of the
   * CONNECT, or undefined when the method's first message comes from the server. Called
   * once per connection attempt; any earlier, unfinished exchange is forgotten.
   */
  start(): Uint8Array | undefined;

  /**
   * Answers one AUTH 0x18 (Continue authentication) from the server: `data` is its
   * Authentication Data (undefined when it sent none). The result is the Authentication Data
   * of the client's AUTH 0x18 reply. May be asynchronous, e.g. for a key derivation that
   * should not block the event loop.
   *
   * @throws `AuthenticationError` when the data is malformed, out of bounds or out of order
   */
  challenge(data: Uint8Array | undefined): Uint8Array | Promise<Uint8Array>;

  /**
   * The server declared success: `data` is the Authentication Data of the CONNACK 0x00 (or
   * of the AUTH 0x00 ending a re-authentication), undefined when it sent none. A method with
   * mutual authentication verifies the server here; only when this returns (or its promise
   * resolves) may the client use the connection.
   *
   * @throws `AuthenticationError` when the server does not verify, or the exchange was not
   *   complete (a server that declares success early must not skip its own proof)
   */
  success(data: Uint8Array | undefined): void | Promise<void>;

  /**
   * Begins a re-authentication on an open connection (§4.12.1): the Authentication Data of
   * the client's AUTH 0x19 (Re-authenticate), or undefined for none. The rounds that follow
   * go through {@link challenge} and end with {@link success}, as on connect.
   */
  reauthenticate(): Uint8Array | undefined;
}

/**
 * What the store records of the session on the broker ({@link StoredSession}): its client id
 * (an MQTT 5.0 Assigned Client Identifier included), its expiry interval, and when the last
 * connection ended; and the judgement a restarted client makes from it, whether the broker
 * may still hold the session.
 *
 * @module
 */

import type { ConnackPacket } from '../packet/types.js';
import type { SessionStore, StoredSession } from '../store/types.js';

/** The Session Expiry Interval meaning "never expires" (§3.1.2.11.2). */
export const NEVER_EXPIRES = 0xffff_ffff;

/**
 * Whether the broker may still hold the session the store recorded, judged when the store
 * opens (before the first CONNECT). On the safe side: true whenever it cannot be ruled out.
 *
 * - `clean`: false, the client starts a new session [MQTT-3.1.2-6] [MQTT-3.1.2-4].
 * - nothing recorded (a new store, or a log from before the record existed): true, unless
 *   the client id is empty and none was assigned (the broker will assign a new one).
 * - recorded for another client id: true (the record says nothing about this one).
 * - ended at a known time: true while `expirySec` has not passed since [MQTT-3.1.2-23];
 *   never expiring (3.1.1 without clean session, or 0xFFFFFFFF): true.
 * - the process died while connected (no end recorded): true unless the session ends with
 *   the connection (expiry 0), since the connection may have ended at any time since.
 */
export function sessionMayExist(
  stored: StoredSession | undefined,
  clientId: string,
  clean: boolean,
  nowEpochMs: number,
): boolean {
  if (clean) return false;
  if (stored === undefined) return clientId !== '';
  if (clientId !== '' && stored.clientId !== clientId) return true;
  if (stored.expirySec === NEVER_EXPIRES) return true;
  if (stored.endedAt === 0) return stored.expirySec > 0;
  return nowEpochMs - stored.endedAt < stored.expirySec * 1000;
}

/** The expiry interval in force on a connection the CONNACK accepted. */
export function expiryInForce(
  protocolVersion: 3 | 4 | 5,
  clean: boolean,
  requestedSec: number | undefined,
  connack: ConnackPacket,
): number {
  // 3.1.1: a session without clean session lasts until the broker discards it.
  if (protocolVersion !== 5) return clean ? 0 : NEVER_EXPIRES;
  // §3.2.2.3.2: a Session Expiry Interval in the CONNACK replaces ours.
  return connack.properties?.sessionExpiryIntervalSec ?? requestedSec ?? 0;
}

/** Keeps the store's {@link StoredSession} up to date as connections come and go. */
export class SessionRecord {
  readonly #store: SessionStore;
  #current: StoredSession | undefined;

  constructor(store: SessionStore) {
    this.#store = store;
  }

  /** A connection was accepted: the session lives under `clientId` for now. */
  connected(clientId: string, expirySec: number): void {
    this.#current = { clientId, expirySec, endedAt: 0 };
    this.#store.putSession?.(this.#current);
  }

  /** The accepted connection ended at `nowEpochMs`: the expiry interval starts counting. */
  ended(nowEpochMs: number): void {
    if (this.#current === undefined) return;
    this.#current = { ...this.#current, endedAt: nowEpochMs };
    this.#store.putSession?.(this.#current);
  }
}

/**
 * Murano's provisioning exchange ("Provision authentication credentials for a device"): an
 * anonymous client (empty client id, no user name, no password) over TLS with SNI publishes to
 * `$provision/<device id>` and, for a token connector, reads its token on that topic.
 *
 * @module
 */

import {
  type Client,
  type ClientOptions,
  ConnectionRefusedError,
  connect,
  type Message,
} from 'courier-mqtt';
import type { MuranoConfig } from '../config/schema.js';
import { AgentError, AgentErrorCode } from '../errors.js';

/** Why provisioning failed for good. */
export type MuranoProvisionReason = 'taken' | 'refused' | 'timeout';

/** Provisioning failed in a way no retry fixes: the message says what to do. */
export class MuranoProvisionError extends AgentError {
  override get name(): string {
    return 'MuranoProvisionError';
  }

  /** `taken`: id taken or not on the allow-list; `refused`: refused or not a token; `timeout`. */
  readonly reason: MuranoProvisionReason;

  constructor(reason: MuranoProvisionReason, message: string, options?: { cause?: unknown }) {
    super(AgentErrorCode.MURANO_PROVISION, message, options);
    this.reason = reason;
  }
}

/** The longest token taken from a provisioning answer (Murano's are 40 characters). */
export const TOKEN_MAX_CHARS = 1024;
const TOKEN_SHAPE = new RegExp(`^[\\x21-\\x7e]{1,${TOKEN_MAX_CHARS}}$`);

/** What one provisioning exchange needs. */
export interface ProvisionRequest {
  readonly url: string;
  /** TLS options, with `servername` the connector's name (SNI). */
  readonly tls: NonNullable<ClientOptions['tls']>;
  readonly deviceId: string;
  readonly auth: MuranoConfig['auth'];
  /** Empty for a token connector, the password for a password connector. */
  readonly payload: string;
  /** Bound of the connection and of the wait for the answer. */
  readonly timeoutSec: number;
}

/**
 * One anonymous provisioning exchange: connect with an empty client id ("The ClientID must be
 * set as empty while provisioning"), subscribe to the reply topic (the one topic an anonymous
 * client may subscribe to), publish `payload` to `$provision/<device id>`. A token connector
 * answers with the token; a password connector answers nothing ("No token will be returned":
 * the PUBACK tells the request arrived, and the connection with the credentials that follows
 * is the proof); an empty answer means the id is taken or not on the allow-list.
 * @returns the token ('' for a password connector)
 * @throws {MuranoProvisionError} for an answer no retry changes
 * @throws the connection's error when Murano cannot be reached (worth retrying)
 */
export async function provisionOnce(req: ProvisionRequest): Promise<string> {
  const { deviceId, timeoutSec } = req;
  const topic = `$provision/${deviceId}`;
  let client: Client;
  try {
    client = await connect(req.url, {
      // Murano's rules (TLS with SNI, QoS ≤ 1, no retain, ...) checked before the wire.
      profile: 'exosite',
      clientId: '',
      tls: req.tls,
      reconnect: false,
      connectTimeoutMs: timeoutSec * 1000,
    });
  } catch (error) {
    if (error instanceof ConnectionRefusedError)
      throw new MuranoProvisionError(
        'refused',
        `Murano refused the anonymous provisioning connection (${error.message}): is the connector's authentication type "${req.auth}"?`,
        { cause: error },
      );
    throw error;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = new Promise<string>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MuranoProvisionError(
              'timeout',
              `Murano did not answer the provisioning of ${deviceId} within ${timeoutSec} s`,
            ),
          ),
        timeoutSec * 1000,
      );
      client.on('message', (m: Message) => {
        if (m.topic !== topic) return;
        clearTimeout(timer);
        resolve(Buffer.from(m.payload).toString('utf8'));
      });
    });
    // Not awaited when no answer is due (password): its rejection must not go unhandled.
    answer.catch(() => undefined);
    await client.subscribe(topic);
    await client.publish(topic, req.payload, { qos: 1 });
    if (req.auth === 'password') return '';
    const token = (await answer).trim();
    if (token === '')
      throw new MuranoProvisionError(
        'taken',
        `Murano gave no token for device ${deviceId}: the id is already provisioned or not on the connector's allow-list (reset it in the connector, then re-provision)`,
      );
    // It becomes an MQTT password and a file: printable ASCII, bounded.
    if (!TOKEN_SHAPE.test(token))
      throw new MuranoProvisionError(
        'refused',
        `Murano's answer for device ${deviceId} is not a token (${token.length} characters, expected 1 to ${TOKEN_MAX_CHARS} printable ASCII)`,
      );
    return token;
  } finally {
    clearTimeout(timer);
    await client.end({ timeoutMs: 1000 }).catch(() => undefined);
  }
}

/**
 * Azure IoT Hub: the SAS token a device signs with its key, and the client options for a
 * device that connects with one and renews it before it expires.
 *
 * The token follows "Control access to IoT Hub with shared access signatures"
 * (https://learn.microsoft.com/azure/iot-hub/authenticate-authorize-sas): the string to
 * sign is `<URL-encoded resource URI>\n<expiry in epoch seconds>`, signed with HMAC-SHA256
 * keyed by the base64-decoded device key; the signature is base64, then URL-encoded, in
 * `SharedAccessSignature sr={URI}&sig={signature}&se={expiry}` (`&skn={policy}` for a
 * shared access policy). The MQTT identity follows "Communicate with an IoT hub using the
 * MQTT protocol": client id = device id, user name `{host}/{deviceId}/?api-version=2021-04-12`,
 * password = the SAS token.
 *
 * @module
 */

import { createHmac } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { checkKnownKeys, checkObject } from '../option-checks.js';
import type { ExpiringPassword } from './credentials.js';
import { AZURE_IOT_HUB_KEYS } from './option-keys.js';
import type { AzureIotHubOptions, ClientOptions } from './option-types.js';
import { AZURE_API_VERSION } from './profiles.js';

export type { AzureIotHubOptions } from './option-types.js';

/** What {@link azureIotHubSas} signs. */
export interface AzureSasOptions {
  /** The resource URI, not encoded, e.g. `myhub.azure-devices.net/devices/pump-7`. */
  readonly resourceUri: string;
  /** The device's (or policy's) symmetric key, base64 as the portal shows it. */
  readonly key: string;
  /** Expiry, epoch seconds. */
  readonly expirySec: number;
  /** The shared access policy name, for a policy key (not for a device key). */
  readonly policyName?: string;
}

/** Device ids: at most 128 characters of `A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '`. */
const DEVICE_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;
const HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** Azure keys are 32 or 64 bytes; anything longer than 1 KiB of base64 is not a key. */
const MAX_KEY_CHARS = 1024;

function decodeKey(key: unknown, field: string): Buffer {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_KEY_CHARS ||
    !/^[A-Za-z0-9+/]+={0,2}$/.test(key) ||
    key.length % 4 !== 0
  ) {
    // The key is a secret: never echoed.
    throw new InvalidOptionError(
      field,
      'must be the base64 symmetric key (at most 1024 characters)',
    );
  }
  return Buffer.from(key, 'base64');
}

/**
 * Computes an IoT Hub SAS token (Microsoft's algorithm, see the module comment).
 * @throws {@link InvalidOptionError} naming the field
 */
export function azureIotHubSas(options: AzureSasOptions): string {
  const { resourceUri, key, expirySec, policyName } = options;
  if (typeof resourceUri !== 'string' || resourceUri.length === 0 || resourceUri.length > 1024) {
    throw new InvalidOptionError('resourceUri', 'must be a resource URI of 1 to 1024 characters');
  }
  if (!Number.isInteger(expirySec) || expirySec <= 0) {
    throw new InvalidOptionError('expirySec', 'must be epoch seconds');
  }
  const secret = decodeKey(key, 'key');
  const encoded = encodeURIComponent(resourceUri);
  const signature = createHmac('sha256', secret)
    .update(`${encoded}\n${expirySec}`)
    .digest('base64');
  const policy = policyName === undefined ? '' : `&skn=${encodeURIComponent(policyName)}`;
  return `SharedAccessSignature sr=${encoded}&sig=${encodeURIComponent(signature)}&se=${expirySec}${policy}`;
}

/** The URL and options {@link azureIotHub} builds: `createClient(url, options)`. */
export interface AzureIotHubConnection {
  readonly url: string;
  readonly options: ClientOptions & { readonly profile: 'azure-iot-hub' };
}

/**
 * The client options of an IoT Hub device using a SAS token: `profile: 'azure-iot-hub'`,
 * client id = device id, the user name IoT Hub expects, and a password provider that signs
 * a fresh token at each connection attempt and tells the client to renew it
 * `renewBeforeSec` before it expires (a DISCONNECT and a CONNECT with the new token, the
 * session kept: `clean: false`). Add other options by spreading:
 * `createClient(url, { ...options, keepaliveSec: 120 })`.
 *
 * ```ts
 * const { url, options } = azureIotHub({ hub: 'myhub.azure-devices.net', deviceId: 'pump-7', key });
 * const client = await connect(url, options);
 * await client.publish('devices/pump-7/messages/events/', '{"t":21.5}', { qos: 1 });
 * ```
 * @throws {@link InvalidOptionError} naming the field (`azureIotHub.key`, ...)
 */
export function azureIotHub(options: AzureIotHubOptions): AzureIotHubConnection {
  checkObject(options, 'azureIotHub');
  checkKnownKeys(options, AZURE_IOT_HUB_KEYS, 'azureIotHub.', {
    hostName: 'did you mean hub?',
    deviceKey: 'did you mean key?',
    sharedAccessKey: 'did you mean key?',
  });
  const { deviceId, key } = options;
  const hub = options.hub;
  if (typeof hub !== 'string' || !HOST.test(hub)) {
    throw new InvalidOptionError(
      'azureIotHub.hub',
      'must be the hub host name, e.g. myhub.azure-devices.net',
    );
  }
  if (typeof deviceId !== 'string' || !DEVICE_ID.test(deviceId)) {
    throw new InvalidOptionError(
      'azureIotHub.deviceId',
      "must be 1 to 128 characters of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ '",
    );
  }
  decodeKey(key, 'azureIotHub.key');
  const minTtlSec = options.minTtlSec ?? 60;
  const ttlSec = options.ttlSec ?? 3600;
  if (!Number.isInteger(ttlSec) || ttlSec < minTtlSec || ttlSec > 365 * 86_400) {
    throw new InvalidOptionError(
      'azureIotHub.ttlSec',
      `must be an integer from ${minTtlSec} to ${365 * 86_400} seconds`,
    );
  }
  const renewBeforeSec = options.renewBeforeSec ?? Math.max(1, Math.floor(ttlSec / 5));
  if (!Number.isInteger(renewBeforeSec) || renewBeforeSec < 1 || renewBeforeSec >= ttlSec) {
    throw new InvalidOptionError(
      'azureIotHub.renewBeforeSec',
      `must be an integer from 1 to ${ttlSec - 1} (less than ttlSec)`,
    );
  }
  const clock = options.now ?? Date.now;
  const resourceUri = `${hub}/devices/${deviceId}`;
  const password = (): ExpiringPassword => {
    const expirySec = Math.floor(clock() / 1000) + ttlSec;
    return {
      password: azureIotHubSas({ resourceUri, key, expirySec }),
      expiresAtMs: expirySec * 1000,
      renewAtMs: (expirySec - renewBeforeSec) * 1000,
    };
  };
  return {
    url: options.url ?? `mqtts://${hub}:8883`,
    options: {
      profile: 'azure-iot-hub',
      clientId: deviceId,
      username: `${hub}/${deviceId}/?api-version=${AZURE_API_VERSION}`,
      password,
      clean: false,
      tls: { servername: hub, ...options.tls },
    },
  };
}

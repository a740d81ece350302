/**
 * Transport errors, worded for the person installing a device: what failed, where, and what
 * to set to fix it. A secret (password, private key, passphrase, PSK) never appears in them.
 *
 * @module
 */

import { MqttError, MqttErrorCode } from '../errors.js';

/** DNS, TCP connect and socket errors; a time-out is its refinement {@link ConnectTimeoutError}. */
export class NetworkError extends MqttError {
  override get name(): string {
    return 'NetworkError';
  }

  /** `host:port` (or the server URL) the error is about. */
  readonly address: string;
  /** The system error code, e.g. `ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`. */
  readonly syscallCode: string | undefined;

  constructor(message: string, address: string, syscallCode?: string, cause?: unknown) {
    super(MqttErrorCode.NETWORK, message, cause === undefined ? undefined : { cause });
    this.address = address;
    this.syscallCode = syscallCode;
  }
}

/**
 * The connection was not up within `connectTimeoutMs`: DNS, TCP, TLS or the broker's CONNACK
 * took too long. A {@link NetworkError} with its own code, `CONNECT_TIMEOUT`.
 */
export class ConnectTimeoutError extends NetworkError {
  override get name(): string {
    return 'ConnectTimeoutError';
  }

  override readonly code = MqttErrorCode.CONNECT_TIMEOUT;

  constructor(message: string, address: string, cause?: unknown) {
    super(message, address, 'ETIMEDOUT', cause);
  }
}

/** The TLS handshake failed: certificate, host name, PSK, protocol version. */
export class TlsError extends MqttError {
  override get name(): string {
    return 'TlsError';
  }

  /** OpenSSL/Node error code, e.g. `CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`. */
  readonly tlsCode: string | undefined;

  constructor(message: string, tlsCode?: string, cause?: unknown) {
    super(MqttErrorCode.TLS, message, cause === undefined ? undefined : { cause });
    this.tlsCode = tlsCode;
  }
}

/** The WebSocket upgrade or framing failed. */
export class WebSocketError extends MqttError {
  override get name(): string {
    return 'WebSocketError';
  }

  constructor(message: string, cause?: unknown) {
    super(MqttErrorCode.WEBSOCKET, message, cause === undefined ? undefined : { cause });
  }
}

interface NodeError {
  code?: string;
  message?: string;
  reason?: string;
  cert?: { subject?: { CN?: string }; subjectaltname?: string };
  host?: string;
}

/** Translates a Node TLS error into a {@link TlsError} a device installer understands. */
export function tlsError(error: unknown, address: string, servername: string): TlsError {
  const e = (error ?? {}) as NodeError;
  const code = e.code;
  let text: string;
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      text = 'certificate has expired';
      break;
    case 'CERT_NOT_YET_VALID':
      text = 'certificate is not yet valid (check the device clock)';
      break;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      text = 'self-signed certificate in chain (set tls.ca to trust it)';
      break;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      text = 'self-signed server certificate (set tls.ca to trust it)';
      break;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      text = 'unable to verify the server certificate (unknown CA; set tls.ca)';
      break;
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const cn = e.cert?.subject?.CN;
      const san = e.cert?.subjectaltname;
      text = `host name ${servername} does not match certificate (CN=${cn ?? '?'}${san === undefined ? '' : `, SAN=${san}`})`;
      break;
    }
    default: {
      const message = e.message ?? String(error);
      if (
        /alert certificate required|alert handshake failure.*certificate|peer did not return a certificate/i.test(
          message,
        )
      ) {
        text = 'server requires a client certificate (set tls.cert and tls.key)';
      } else if (/unknown ca|bad certificate|certificate unknown/i.test(message)) {
        text = 'the server rejected our client certificate (issued by a CA it does not trust)';
      } else if (/psk|decrypt error|bad record mac|alert unknown psk identity/i.test(message)) {
        text = 'PSK identity rejected or key mismatch';
      } else if (
        /wrong version number|unsupported protocol|no protocols available/i.test(message)
      ) {
        text = 'TLS version mismatch (is this a TLS port? check tls.minVersion/maxVersion)';
      } else if (/ECONNRESET|socket hang up|disconnected before secure/i.test(message)) {
        text =
          'the server closed the connection during the TLS handshake (wrong port, certificate required, or PSK rejected)';
      } else {
        text = message;
      }
    }
  }
  return new TlsError(`TLS handshake with ${address} failed: ${text}`, code, error);
}

/** Translates a Node socket/DNS error into a {@link NetworkError}. */
export function networkError(error: unknown, host: string, address: string): NetworkError {
  const e = (error ?? {}) as NodeError;
  const code = e.code;
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_NODATA':
      return new NetworkError(`DNS lookup failed for ${host} (${code})`, address, code, error);
    case 'ECONNREFUSED':
      return new NetworkError(`connection refused by ${address}`, address, code, error);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new NetworkError(`${address} is unreachable (${code})`, address, code, error);
    case 'ECONNRESET':
      return new NetworkError(`connection to ${address} was reset`, address, code, error);
    case 'ETIMEDOUT':
      return new ConnectTimeoutError(
        `cannot connect to ${address}: ${e.message ?? String(error)}`,
        address,
        error,
      );
    default:
      return new NetworkError(
        `cannot connect to ${address}: ${e.message ?? String(error)}`,
        address,
        code,
        error,
      );
  }
}

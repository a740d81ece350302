/**
 * TLS options checked before any connection: certificates and keys are parsed, not just read,
 * so that a CA file holding something else (Mosquitto's `08-ssl-bad-cacert`) or a key that
 * does not decrypt or belong to the certificate is refused at once with the field named,
 * instead of failing every connection attempt.
 *
 * Which keys `tls` accepts: exactly those of {@link TlsOptions}. Other `tls.connect` options
 * of Node (`pfx`, `secureContext`, `checkServerIdentity`, `sigalgs`, ...) are refused rather
 * than accepted: the transport builds its own `tls.connect` options and never passed them on,
 * so accepting them would mean ignoring them silently.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { checkKnownKeys, checkObject, type KnownKeys, typeName } from '../option-checks.js';
import { utf8Length } from '../utf16.js';
import type { TlsOptions } from './types.js';

/** Largest `tls.ca`, `tls.cert` or `tls.key` accepted, in bytes (a full public CA bundle is ~220 KB). */
export const MAX_TLS_MATERIAL_BYTES = 1024 * 1024;
/** Longest key passphrase: OpenSSL hands the passphrase callback a 1,024-byte buffer. */
const MAX_PASSPHRASE_BYTES = 1024;

const TLS_KEYS = {
  ca: true,
  cert: true,
  key: true,
  passphrase: true,
  servername: true,
  alpn: true,
  rejectUnauthorized: true,
  minVersion: true,
  maxVersion: true,
  ciphers: true,
} as const satisfies KnownKeys<TlsOptions>;

/** Node `tls.connect` and MQTT.js names, mapped to ours or to what to do instead. */
const TLS_HINTS: Readonly<Record<string, string>> = {
  ALPNProtocols: 'did you mean tls.alpn?',
  pfx: 'PKCS#12 is not supported: give tls.cert and tls.key as PEM (openssl pkcs12 -in file.p12 -nodes)',
  caPaths: 'give the CA itself: tls.ca: readFileSync(path)',
  certPath: 'give the certificate itself: tls.cert: readFileSync(path)',
  keyPath: 'give the key itself: tls.key: readFileSync(path)',
  checkServerIdentity:
    'not supported: tls.servername sets the name checked, tls.rejectUnauthorized: false turns checking off',
  secureContext: 'not supported: give tls.ca, tls.cert and tls.key',
  secureProtocol: 'did you mean tls.minVersion and tls.maxVersion?',
  host: 'the host is part of the server URL',
  port: 'the port is part of the server URL',
};

const VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'TRUSTED CERTIFICATE', 'X509 CERTIFICATE']);
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

type Material = string | Uint8Array;

function byteLength(value: Material): number {
  return typeof value === 'string' ? utf8Length(value) : value.byteLength;
}

/** The material as text, to look for PEM armour; bytes as Latin-1, which never fails. */
function asText(value: Material): string {
  return typeof value === 'string'
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
}

function checkMaterial(value: unknown, field: string): asserts value is Material {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new InvalidOptionError(field, `must be PEM text or bytes, got ${typeName(value)}`);
  }
  const size = byteLength(value);
  if (size === 0) throw new InvalidOptionError(field, 'is empty');
  if (size > MAX_TLS_MATERIAL_BYTES) {
    throw new InvalidOptionError(
      field,
      `is ${size} bytes, more than the ${MAX_TLS_MATERIAL_BYTES} allowed (is it the right file?)`,
    );
  }
}

/** A hint for the common mistake of giving a file name where its contents belong. */
function pathHint(value: Material): string {
  return typeof value === 'string' &&
    value.length < 4096 &&
    /^[^\r\n]*(?:[/\\]|\.(?:pem|crt|cer|der|key)$)/i.test(value)
    ? ' (it looks like a file name: give the file contents, e.g. readFileSync(path))'
    : '';
}

/**
 * Every certificate in PEM text (a bundle may hold several) or in one DER certificate.
 * @throws {@link InvalidOptionError} when there is none or one does not parse
 */
function certificates(value: Material, field: string): X509Certificate[] {
  const text = asText(value);
  if (!text.includes('-----BEGIN ')) {
    if (typeof value === 'string') {
      throw new InvalidOptionError(
        field,
        `holds no PEM certificate (-----BEGIN CERTIFICATE-----)${pathHint(value)}`,
      );
    }
    try {
      return [new X509Certificate(value)];
    } catch {
      throw new InvalidOptionError(field, 'is neither PEM text nor a DER X.509 certificate');
    }
  }
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const certs = blocks.filter((b) => CERTIFICATE_LABELS.has(b[1]!));
  const begun = text.match(/-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/g)?.length ?? 0;
  if (begun > certs.length) {
    throw new InvalidOptionError(
      field,
      'holds a PEM certificate without its END line (truncated?)',
    );
  }
  if (certs.length === 0) {
    const found = [...new Set(blocks.map((b) => b[1]!))].join(', ');
    throw new InvalidOptionError(
      field,
      `holds no PEM certificate${found === '' ? '' : ` (found: ${found})`}`,
    );
  }
  return certs.map((block, i) => {
    try {
      return new X509Certificate(block[0]);
    } catch {
      throw new InvalidOptionError(
        field,
        `certificate ${i + 1} of ${certs.length} is not a valid X.509 certificate`,
      );
    }
  });
}

/** The error of `createPrivateKey`, in the words of the option to fix. Never the key itself. */
function keyError(error: unknown, field: string, passphraseField: string, hasPassphrase: boolean) {
  const e = error as { code?: string; message?: string };
  const text = `${e.code ?? ''} ${e.message ?? ''}`;
  if (/BAD_DECRYPT|bad decrypt|bad password/i.test(text)) {
    return hasPassphrase
      ? new InvalidOptionError(passphraseField, `does not decrypt ${field}`)
      : new InvalidOptionError(field, `is encrypted: set ${passphraseField}`);
  }
  if (/INTERRUPTED_OR_CANCELLED|MISSING_PASSPHRASE|passphrase/i.test(text)) {
    return new InvalidOptionError(field, `is encrypted: set ${passphraseField}`);
  }
  return undefined;
}

/**
 * Loads a private key: PEM (PKCS#8, PKCS#1, SEC1, encrypted or not) or DER. Returns what to
 * hand to `tls.connect`, which takes PEM only (DER is converted), and the loaded key.
 */
function privateKey(
  value: Material,
  passphrase: string | undefined,
  field: string,
  passphraseField: string,
): { key: Material; object: KeyObject } {
  const text = asText(value);
  if (text.includes('-----BEGIN ')) {
    const labels = [...text.matchAll(PEM_BLOCK)].map((b) => b[1]!);
    const encrypted =
      labels.includes('ENCRYPTED PRIVATE KEY') || /Proc-Type: 4,ENCRYPTED/.test(text);
    if (passphrase !== undefined && !encrypted) {
      throw new InvalidOptionError(passphraseField, `is set but ${field} is not encrypted`);
    }
    try {
      const object = createPrivateKey({
        key: typeof value === 'string' ? value : Buffer.from(value),
        format: 'pem',
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      return { key: value, object };
    } catch (error) {
      const known = keyError(error, field, passphraseField, passphrase !== undefined);
      if (known !== undefined) throw known;
      const found = [...new Set(labels)].join(', ');
      throw new InvalidOptionError(
        field,
        `holds no private key that loads${found === '' ? '' : ` (found: ${found})`}`,
      );
    }
  }
  if (typeof value === 'string') {
    throw new InvalidOptionError(
      field,
      `holds no PEM private key (-----BEGIN PRIVATE KEY-----)${pathHint(value)}`,
    );
  }
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      const object = createPrivateKey({
        key: Buffer.from(value),
        format: 'der',
        type,
        ...(passphrase === undefined ? {} : { passphrase }),
      });
      return { key: object.export({ type: 'pkcs8', format: 'pem' }) as string, object };
    } catch (error) {
      const known = keyError(error, field, passphraseField, passphrase !== undefined);
      if (known !== undefined) throw known;
    }
  }
  throw new InvalidOptionError(field, 'is neither PEM text nor a DER private key');
}

/** Checks an optional non-empty string of at most `maxBytes` bytes of UTF-8. */
export function optionalString(value: unknown, field: string, maxBytes: number): void {
  if (value === undefined) return;
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(field, `must be a non-empty string, got ${typeName(value)}`);
  }
  if (utf8Length(value) > maxBytes) {
    throw new InvalidOptionError(field, `must be at most ${maxBytes} bytes`);
  }
}

/**
 * Checks TLS options and returns them ready for the transport: every certificate of `ca` and
 * `cert` parsed (PEM bundle or DER; DER converted to PEM, the only form Node's TLS takes),
 * `key` loaded with `passphrase` and matched against the first certificate of `cert`, the
 * size of each bounded by {@link MAX_TLS_MATERIAL_BYTES}, unknown keys refused.
 *
 * @param field where the options sit, e.g. `'servers[0].tls'` @default 'tls'
 * @throws {@link InvalidOptionError} naming the field; no key or passphrase is ever echoed
 */
export function checkTlsOptions(tls: unknown, field = 'tls'): TlsOptions {
  checkObject(tls, field);
  checkKnownKeys(tls, TLS_KEYS, `${field}.`, TLS_HINTS);
  const t = tls as TlsOptions;
  const out: { -readonly [K in keyof TlsOptions]: TlsOptions[K] } = {};

  if (t.ca !== undefined) {
    const list = Array.isArray(t.ca) ? (t.ca as readonly unknown[]) : [t.ca];
    if (list.length === 0) {
      throw new InvalidOptionError(
        `${field}.ca`,
        "an empty list trusts no server; leave it out to use Node's root certificates",
      );
    }
    let total = 0;
    const pems: string[] = [];
    list.forEach((item, i) => {
      const itemField = Array.isArray(t.ca) ? `${field}.ca[${i}]` : `${field}.ca`;
      checkMaterial(item, itemField);
      total += byteLength(item);
      if (total > MAX_TLS_MATERIAL_BYTES) {
        throw new InvalidOptionError(
          `${field}.ca`,
          `holds more than the ${MAX_TLS_MATERIAL_BYTES} bytes allowed`,
        );
      }
      for (const cert of certificates(item, itemField)) pems.push(cert.toString());
    });
    out.ca = pems;
  }

  let leaf: X509Certificate | undefined;
  if (t.cert !== undefined) {
    checkMaterial(t.cert, `${field}.cert`);
    const chain = certificates(t.cert, `${field}.cert`);
    leaf = chain[0];
    out.cert = chain.map((c) => c.toString()).join('');
  }

  if (t.passphrase !== undefined) {
    if (typeof t.passphrase !== 'string') {
      throw new InvalidOptionError(
        `${field}.passphrase`,
        `must be a string, got ${typeName(t.passphrase)}`,
      );
    }
    if (t.key === undefined) {
      throw new InvalidOptionError(`${field}.passphrase`, `is set but ${field}.key is not`);
    }
    if (utf8Length(t.passphrase) > MAX_PASSPHRASE_BYTES) {
      throw new InvalidOptionError(
        `${field}.passphrase`,
        `must be at most ${MAX_PASSPHRASE_BYTES} bytes`,
      );
    }
  }
  if (t.key !== undefined) {
    checkMaterial(t.key, `${field}.key`);
    const loaded = privateKey(t.key, t.passphrase, `${field}.key`, `${field}.passphrase`);
    out.key = loaded.key;
    if (loaded.key === t.key) {
      if (t.passphrase !== undefined) out.passphrase = t.passphrase;
    }
    if (leaf === undefined) {
      throw new InvalidOptionError(
        `${field}.key`,
        `is set but ${field}.cert is not: a client certificate needs both`,
      );
    }
    if (!leaf.checkPrivateKey(loaded.object)) {
      throw new InvalidOptionError(
        `${field}.key`,
        `does not belong to the certificate of ${field}.cert (${leaf.subject.replace(/\n/g, ', ')})`,
      );
    }
  } else if (leaf !== undefined) {
    throw new InvalidOptionError(
      `${field}.cert`,
      `is set but ${field}.key is not: a client certificate needs both`,
    );
  }

  optionalString(t.servername, `${field}.servername`, 255);
  if (t.servername !== undefined) out.servername = t.servername;
  if (t.alpn !== undefined) {
    if (!Array.isArray(t.alpn) || t.alpn.length === 0 || t.alpn.length > 32) {
      throw new InvalidOptionError(`${field}.alpn`, 'must be a list of 1 to 32 protocol names');
    }
    for (const [i, name] of t.alpn.entries()) optionalString(name, `${field}.alpn[${i}]`, 255);
    out.alpn = [...t.alpn];
  }
  if (t.rejectUnauthorized !== undefined) {
    if (typeof t.rejectUnauthorized !== 'boolean') {
      throw new InvalidOptionError(`${field}.rejectUnauthorized`, 'must be a boolean');
    }
    out.rejectUnauthorized = t.rejectUnauthorized;
  }
  for (const which of ['minVersion', 'maxVersion'] as const) {
    const v = t[which];
    if (v === undefined) continue;
    if (!VERSIONS.includes(v)) {
      throw new InvalidOptionError(
        `${field}.${which}`,
        `must be one of ${VERSIONS.join(', ')}, got ${JSON.stringify(v)}`,
      );
    }
    out[which] = v;
  }
  if (
    t.minVersion !== undefined &&
    t.maxVersion !== undefined &&
    VERSIONS.indexOf(t.minVersion) > VERSIONS.indexOf(t.maxVersion)
  ) {
    throw new InvalidOptionError(`${field}.minVersion`, `is above ${field}.maxVersion`);
  }
  optionalString(t.ciphers, `${field}.ciphers`, 4096);
  if (t.ciphers !== undefined) out.ciphers = t.ciphers;
  return out;
}

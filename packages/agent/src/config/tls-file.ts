/**
 * Certificate, CA and key files: read with a size bound, and parsed before they are used.
 *
 * One function serves every file the agent takes a certificate or key from: `security.*` and
 * `backup.security.*` (the MQTT client), `web.tls.*` (the console) and the console's
 * "Certificates" page. A file is opened without blocking and must be a regular file of at
 * most {@link TLS_FILE_MAX_BYTES}: `/dev/zero`, a FIFO or a 1 GB log named by mistake is
 * refused before a byte of it is read, instead of growing the process until it is killed.
 * Then the content must be what the field asks for: a CA or certificate parses as X.509 (every
 * PEM block of a bundle), a key loads as an unencrypted private key. `/etc/passwd` as a CA is
 * a configuration error naming the field, not a TLS failure at the first connection.
 *
 * @module
 */

import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { resolve } from 'node:path';
import { AgentError, AgentErrorCode } from '../errors.js';
import { readBoundedFile } from './read-file.js';

/** The largest certificate, CA bundle or key file read: 1 MiB (a CA bundle of ~150 roots is 200 KiB). */
export const TLS_FILE_MAX_BYTES = 1024 * 1024;

/** What a TLS file can be. */
export const TLS_FILE_KINDS = ['ca', 'cert', 'key'] as const;
/** One of {@link TLS_FILE_KINDS}. */
export type TlsFileKind = (typeof TLS_FILE_KINDS)[number];

/** What a certificate file holds (its first certificate). */
export interface CertificateInfo {
  readonly path: string;
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly fingerprint256: string;
  /** How many certificates the file holds (a CA bundle may hold several). */
  readonly count: number;
}

/** What a key file holds; never the key. */
export interface KeyInfo {
  readonly path: string;
  readonly type: string;
}

/** A certificate or key file that cannot be used; `message` says why. */
export class TlsFileError extends AgentError {
  constructor(message: string) {
    super(AgentErrorCode.CONFIG, message);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Every certificate of a PEM text (a bundle may hold several). */
export function parseCertificates(text: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0)
    throw new TlsFileError('not a PEM certificate: no "-----BEGIN CERTIFICATE-----" block');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsFileError(`certificate ${i + 1} does not parse: ${(error as Error).message}`);
    }
  });
}

/** The private key of a PEM text; an encrypted key is refused (there is no passphrase). */
export function parsePrivateKey(text: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new TlsFileError('not a PEM private key: no "-----BEGIN ... PRIVATE KEY-----" block');
  if (/ENCRYPTED/.test(text))
    throw new TlsFileError('the private key is encrypted; use it without a passphrase');
  try {
    return createPrivateKey(text);
  } catch (error) {
    throw new TlsFileError(`the private key does not load: ${(error as Error).message}`);
  }
}

function describeCertificates(text: string, path: string): CertificateInfo {
  const certs = parseCertificates(text);
  const cert = certs[0] as X509Certificate;
  return {
    path,
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    count: certs.length,
  };
}

/** Checks a file's text: what it holds, or a {@link TlsFileError}. */
export function inspectTlsFile(
  kind: TlsFileKind,
  text: string,
  path = '',
): CertificateInfo | KeyInfo {
  if (kind === 'key') {
    const key = parsePrivateKey(text);
    return { path, type: key.asymmetricKeyType ?? 'unknown' };
  }
  return describeCertificates(text, path);
}

/**
 * Reads (bounded) and checks one certificate, CA or key file.
 * @param path as configured; relative paths are relative to `baseDir`
 * @returns the text and what it holds
 * @throws {TlsFileError} naming what is wrong (not the field: the caller knows it)
 */
export async function readTlsFile(
  kind: TlsFileKind,
  path: string,
  baseDir: string,
): Promise<{ text: string; info: CertificateInfo | KeyInfo }> {
  const text = await readBoundedFile(resolve(baseDir, path), TLS_FILE_MAX_BYTES);
  return { text, info: inspectTlsFile(kind, text, path) };
}

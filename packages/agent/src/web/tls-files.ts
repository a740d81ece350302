/**
 * Certificates, keys and CAs uploaded through the console.
 *
 * An upload is checked before it is stored: a certificate or CA must parse as X.509, a key
 * must be a private key Node can load (an encrypted key is refused: the agent has no
 * passphrase to open it with). Files go to `<dataDir>/tls/` (mode 0700) as
 * `<kind>-<sha256 prefix>.pem`, mode 0600, written atomically; the name follows the content,
 * so the file a running configuration points at is never overwritten by a new upload.
 *
 * @module
 */

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { SecurityConfig } from '../config/schema.js';
import { AgentError, AgentErrorCode } from '../errors.js';
import { writeFileAtomic } from './config-store.js';

/** What can be uploaded. */
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

/** A file the console cannot use; `message` says why. */
export class TlsFileError extends AgentError {
  constructor(message: string) {
    super(AgentErrorCode.CONFIG, message);
  }
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function describeCertificates(text: string, path: string): CertificateInfo {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0)
    throw new TlsFileError('not a PEM certificate: no "-----BEGIN CERTIFICATE-----" block');
  let first: X509Certificate | undefined;
  for (const [i, block] of blocks.entries()) {
    try {
      const cert = new X509Certificate(block);
      first ??= cert;
    } catch (error) {
      throw new TlsFileError(`certificate ${i + 1} does not parse: ${(error as Error).message}`);
    }
  }
  const cert = first as X509Certificate;
  return {
    path,
    subject: cert.subject.replaceAll('\n', ', '),
    issuer: cert.issuer.replaceAll('\n', ', '),
    validFrom: new Date(cert.validFrom).toISOString(),
    validTo: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
    count: blocks.length,
  };
}

function describeKey(text: string, path: string): KeyInfo {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new TlsFileError('not a PEM private key: no "-----BEGIN ... PRIVATE KEY-----" block');
  if (/ENCRYPTED/.test(text))
    throw new TlsFileError('the private key is encrypted; upload it without a passphrase');
  try {
    const key = createPrivateKey(text);
    return { path, type: key.asymmetricKeyType ?? 'unknown' };
  } catch (error) {
    throw new TlsFileError(`the private key does not load: ${(error as Error).message}`);
  }
}

/** Checks an upload: what it holds, or a {@link TlsFileError}. */
export function inspectTlsFile(
  kind: TlsFileKind,
  text: string,
  path = '',
): CertificateInfo | KeyInfo {
  return kind === 'key' ? describeKey(text, path) : describeCertificates(text, path);
}

/**
 * Checks and stores an upload.
 * @returns where it is and what it holds
 * @throws {TlsFileError} when it is not what `kind` asks for
 */
export async function storeTlsFile(
  dataDir: string,
  kind: TlsFileKind,
  text: string,
): Promise<{ path: string; info: CertificateInfo | KeyInfo }> {
  const dir = join(dataDir, 'tls');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const path = join(dir, `${kind}-${hash}.pem`);
  const info = inspectTlsFile(kind, text, path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, text, 0o600);
  return { path, info };
}

/** What the configured `security.ca` / `cert` / `key` files hold (errors in words). */
export async function describeTlsFiles(
  security: SecurityConfig,
  baseDir: string,
): Promise<
  Partial<Record<TlsFileKind, CertificateInfo | KeyInfo | { path: string; error: string }>>
> {
  const out: Partial<
    Record<TlsFileKind, CertificateInfo | KeyInfo | { path: string; error: string }>
  > = {};
  for (const kind of TLS_FILE_KINDS) {
    const path = security[kind];
    if (path === undefined) continue;
    try {
      out[kind] = inspectTlsFile(kind, await readFile(resolve(baseDir, path), 'utf8'), path);
    } catch (error) {
      out[kind] = { path, error: (error as Error).message };
    }
  }
  return out;
}

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

import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SecurityConfig } from '../config/schema.js';
import {
  type CertificateInfo,
  inspectTlsFile,
  type KeyInfo,
  readTlsFile,
  TLS_FILE_KINDS,
  type TlsFileKind,
} from '../config/tls-file.js';
import { writeFileAtomic } from '../fs-atomic.js';

// The checks live with the configuration, which reads the same files before anything starts.
export {
  type CertificateInfo,
  inspectTlsFile,
  type KeyInfo,
  readTlsFile,
  TLS_FILE_KINDS,
  TlsFileError,
  type TlsFileKind,
} from '../config/tls-file.js';

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
  await writeFileAtomic(path, text, { mode: 0o600 });
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
      out[kind] = (await readTlsFile(kind, path, baseDir)).info;
    } catch (error) {
      out[kind] = { path, error: (error as Error).message };
    }
  }
  return out;
}

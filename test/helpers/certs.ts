/**
 * Test certificates generated at test time with the openssl 3.0 CLI (nothing is checked in,
 * nothing expires in the repository): a CA, a server certificate for localhost/127.0.0.1/::1,
 * a client certificate `CN=client1`, an expired server certificate, one from an unknown CA,
 * and one for a wrong host name. Generated once per process and cached.
 *
 * @module
 */

import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary } from './process.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** A certificate and its private key, as PEM text and as files (for Mosquitto). */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Every certificate the transport and client tests need. */
export interface TestCerts {
  readonly dir: string;
  /** The test CA (self-signed). */
  readonly ca: CertPair;
  /** Server certificate signed by the CA: CN=localhost, SAN localhost, 127.0.0.1, ::1. */
  readonly server: CertPair;
  /** Client certificate signed by the CA, CN=client1. */
  readonly client: CertPair;
  /** The client key encrypted with {@link TestCerts.clientKeyPassphrase}, same certificate. */
  readonly clientEncryptedKey: string;
  readonly clientKeyPassphrase: string;
  /** Server certificate for localhost signed by the CA, valid 2020-01-01 to 2021-01-01. */
  readonly expired: CertPair;
  /** A second CA nobody trusts, and a localhost server certificate it signed. */
  readonly otherCa: CertPair;
  readonly unknownCa: CertPair;
  /** Server certificate signed by the CA for `wrong.example` only. */
  readonly wrongHost: CertPair;
}

const SERVER_SAN = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

async function generate(): Promise<TestCerts> {
  const openssl = await findBinary('openssl', 'openssl');
  const dir = await tempDir(undefined, 'certs-');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string): string => join(dir, name);
  const ssl = (...args: string[]) => run(openssl, args, { cwd: dir });
  const newKey = (name: string) =>
    ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file(name));

  const pair = async (name: string): Promise<CertPair> => {
    const certFile = file(`${name}.crt`);
    const keyFile = file(`${name}.key`);
    return {
      cert: await readFile(certFile, 'utf8'),
      key: await readFile(keyFile, 'utf8'),
      certFile,
      keyFile,
    };
  };

  const makeCa = async (name: string, cn: string): Promise<void> => {
    await newKey(`${name}.key`);
    await ssl(
      ...['req', '-x509', '-new', '-key', file(`${name}.key`), '-days', '3650'],
      ...['-subj', `/CN=${cn}`, '-out', file(`${name}.crt`)],
      ...['-addext', 'basicConstraints=critical,CA:TRUE'],
      ...['-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    );
  };

  /** A leaf signed by `ca`, with the given subject and extensions. */
  const makeLeaf = async (name: string, ca: string, cn: string, ext: string): Promise<void> => {
    await newKey(`${name}.key`);
    await ssl(
      'req',
      '-new',
      '-key',
      file(`${name}.key`),
      '-subj',
      `/CN=${cn}`,
      '-out',
      file(`${name}.csr`),
    );
    await writeFile(file(`${name}.ext`), `${ext}\n`);
    await ssl(
      ...['x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`)],
      ...['-CAkey', file(`${ca}.key`), '-CAcreateserial', '-days', '825'],
      ...['-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`)],
    );
  };

  await Promise.all([makeCa('ca', 'Courier Test CA'), makeCa('other-ca', 'Unknown Test CA')]);
  // Sequential: `-CAcreateserial` writes the serial file next to the CA.
  await makeLeaf('server', 'ca', 'localhost', SERVER_SAN);
  await makeLeaf('client', 'ca', 'client1', 'extendedKeyUsage=clientAuth');
  await makeLeaf('wrong-host', 'ca', 'wrong.example', 'subjectAltName=DNS:wrong.example');
  await makeLeaf('unknown-ca', 'other-ca', 'localhost', SERVER_SAN);

  // An expired certificate needs explicit dates, which only `openssl ca` accepts.
  await newKey('expired.key');
  await ssl(
    'req',
    '-new',
    '-key',
    file('expired.key'),
    '-subj',
    '/CN=localhost',
    '-out',
    file('expired.csr'),
  );
  await writeFile(file('index.txt'), '');
  await writeFile(file('serial'), '1000\n');
  await writeFile(
    file('ca.cnf'),
    [
      '[ ca ]',
      'default_ca = test_ca',
      '[ test_ca ]',
      `database = ${file('index.txt')}`,
      `serial = ${file('serial')}`,
      `new_certs_dir = ${dir}`,
      'default_md = sha256',
      'policy = any',
      'copy_extensions = none',
      'x509_extensions = leaf',
      'unique_subject = no',
      '[ any ]',
      'commonName = supplied',
      '[ leaf ]',
      SERVER_SAN,
      '',
    ].join('\n'),
  );
  await ssl(
    ...['ca', '-batch', '-config', file('ca.cnf'), '-cert', file('ca.crt'), '-keyfile'],
    ...[file('ca.key'), '-in', file('expired.csr'), '-out', file('expired.crt')],
    ...['-startdate', '20200101000000Z', '-enddate', '20210101000000Z', '-notext'],
  );

  const clientKeyPassphrase = 'correct horse battery staple';
  await ssl(
    ...['pkey', '-in', file('client.key'), '-aes256', '-passout'],
    ...[`pass:${clientKeyPassphrase}`, '-out', file('client-encrypted.key')],
  );

  return {
    dir,
    ca: await pair('ca'),
    server: await pair('server'),
    client: await pair('client'),
    clientEncryptedKey: await readFile(file('client-encrypted.key'), 'utf8'),
    clientKeyPassphrase,
    expired: await pair('expired'),
    otherCa: await pair('other-ca'),
    unknownCa: await pair('unknown-ca'),
    wrongHost: await pair('wrong-host'),
  };
}

let cached: Promise<TestCerts> | undefined;

/** The test certificates, generated on first use in this process (about a second). */
export function testCerts(): Promise<TestCerts> {
  cached ??= generate();
  return cached;
}

/** Mosquitto listener lines for a TLS listener using the test CA and `pair` as server cert. */
export function tlsListenerLines(certs: TestCerts, pair: CertPair = certs.server): string[] {
  return [`cafile ${certs.ca.certFile}`, `certfile ${pair.certFile}`, `keyfile ${pair.keyFile}`];
}

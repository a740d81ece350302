/**
 * A real NATS server with JetStream and its MQTT listener, per test, on free loopback ports,
 * with its own configuration and JetStream store in a temp dir. A server already running on
 * the machine is never used.
 *
 * NATS 2.9's MQTT listener needs JetStream (sessions and QoS 1 live in streams) and a
 * `server_name`. It implements MQTT 3.1.1 with QoS 0 and 1 only: a QoS 2 PUBLISH makes it
 * close the connection.
 *
 * @module
 */

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './ports.js';
import { findBinary, type PeerProcess, spawnPeer, stopPeer, waitForListeners } from './process.js';
import { tempDir } from './tmp.js';

/** A running NATS server. */
export interface Nats {
  readonly host: string;
  /** Port of the MQTT listener. */
  readonly mqttPort: number;
  /** Port of the NATS client listener. */
  readonly port: number;
  /** `mqtt://127.0.0.1:<mqttPort>` */
  readonly url: string;
  /** Everything the server logged. */
  log(): string;
  stop(): Promise<void>;
}

/** Options of {@link startNats}. */
export interface NatsOptions {
  /** Extra lines inside the `mqtt { }` block, e.g. `ack_wait: "5s"`. */
  readonly mqttLines?: readonly string[];
}

/** Starts `nats-server -js` with an MQTT listener and waits until both listeners accept TCP. */
export async function startNats(
  t: TestContext | undefined,
  options: NatsOptions = {},
): Promise<Nats> {
  const binary = await findBinary('nats-server', 'nats-server');
  const dir = await tempDir(undefined, 'nats-');
  const host = '127.0.0.1';
  const port = await freePort(host);
  const mqttPort = await freePort(host);
  const config = [
    `server_name: courier-test-${port}`,
    `listen: ${host}:${port}`,
    'jetstream {',
    `  store_dir: ${JSON.stringify(join(dir, 'js'))}`,
    '  max_memory_store: 64MB',
    '  max_file_store: 256MB',
    '}',
    'mqtt {',
    `  listen: ${host}:${mqttPort}`,
    ...(options.mqttLines ?? []).map((line) => `  ${line}`),
    '}',
  ].join('\n');
  const file = join(dir, 'nats.conf');
  await writeFile(file, `${config}\n`, { mode: 0o600 });
  const peer: PeerProcess = spawnPeer(binary, ['-c', file], dir);
  const stop = async (): Promise<void> => {
    await stopPeer(peer);
  };
  t?.after(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  try {
    await waitForListeners(
      peer,
      'nats-server',
      [
        { host, port },
        { host, port: mqttPort },
      ],
      20_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    host,
    port,
    mqttPort,
    url: `mqtt://${host}:${mqttPort}`,
    log: () => peer.output(),
    stop,
  };
}

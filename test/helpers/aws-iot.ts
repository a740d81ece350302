/**
 * An AWS IoT Core-like endpoint, written from AWS's documents, in front of a Mosquitto the
 * test starts:
 * - "Device communication protocols": MQTT with X.509 client certificates on 8883, or on
 *   443 where the client "must implement the ALPN TLS extension and use the ALPN protocol
 *   name x-amzn-mqtt-ca"; clients "must also send the SNI TLS extension to prevent their
 *   connections from being refused". Both listeners here refuse a connection without SNI;
 *   the 443-like one refuses one without that ALPN name.
 * - "AWS IoT Core endpoints and quotas", message broker limits, and "MQTT" (QoS 2 is not
 *   supported): the connection is closed on a QoS 2 PUBLISH, on a SUBSCRIBE of more than 8
 *   filters, on a payload over 128 KB, on a keep-alive over 1200 s, on a client id over 128
 *   bytes.
 *
 * Every packet the client sends is parsed (with the codec, on the emulator's side, at the
 * CONNECT's MQTT level: 3.1.1 or 5) and recorded, so a test sees what reached the wire;
 * then the bytes go on to Mosquitto.
 *
 * @module
 */

import { connect as netConnect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { type Packet, Parser } from 'courier-mqtt/packet';
import { type TestCerts, tlsListenerLines } from './certs.js';
import { Changes } from './changes.js';
import { type Mosquitto, startMosquitto } from './mosquitto.js';

/** The documented ALPN protocol name of MQTT with client certificates on port 443. */
export const AWS_MQTT_ALPN = 'x-amzn-mqtt-ca';

/** A connection the emulator refused or closed, with the documented rule it broke. */
export interface AwsRefusal {
  readonly rule: string;
  readonly detail: string;
}

/** The running emulator. */
export interface AwsIotEmulator {
  /** The 8883-like listener (SNI required). */
  readonly port8883: number;
  /** The 443-like listener (SNI and ALPN `x-amzn-mqtt-ca` required). */
  readonly port443: number;
  /** Every packet clients sent, in order, across connections. */
  readonly packets: Packet[];
  /** Connections refused or closed, with why. */
  readonly refusals: AwsRefusal[];
  /** Connections that passed the TLS checks and reached the broker. */
  readonly accepted: () => number;
  /** Resolves once `predicate` holds (checked at each packet and refusal); rejects after `timeoutMs`. */
  until(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** The broker behind (listener 0, plain); listener 1 is TLS without AWS's rules. */
  readonly broker: Mosquitto;
  close(): Promise<void>;
}

const MAX_FILTERS = 8;
const MAX_PAYLOAD = 128 * 1024;
const MAX_KEEPALIVE = 1200;
const MAX_CLIENT_ID = 128;

/** Starts Mosquitto and the two TLS listeners in front of it, on free loopback ports. */
export async function startAwsIotEmulator(
  t: TestContext | undefined,
  certs: TestCerts,
): Promise<AwsIotEmulator> {
  // The plain listener is the one behind the emulator; the TLS one is for tests of other
  // profiles that need a TLS broker without AWS's rules.
  const broker = await startMosquitto(t, { listeners: [{}, { lines: tlsListenerLines(certs) }] });
  const packets: Packet[] = [];
  const refusals: AwsRefusal[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const changes = new Changes('AWS emulator');
  const changed = (): void => changes.changed();

  const refuse = (socket: Socket, rule: string, detail: string): void => {
    refusals.push({ rule, detail });
    socket.destroy();
    changed();
  };

  const relay = (client: TLSSocket): void => {
    accepted++;
    const upstream = netConnect(broker.port, broker.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    // AWS IoT Core speaks MQTT 3.1.1 and 5 ("MQTT" in the developer guide). A 5.0 parser
    // reads either CONNECT; the rest of the connection is read at the CONNECT's level.
    let parser = new Parser({ protocolVersion: 5 });
    let levelKnown = false;
    client.on('data', (chunk: Uint8Array) => {
      const broken: AwsRefusal[] = [];
      try {
        let rest = chunk;
        while (rest.length > 0) {
          const used = parser.push(rest, (packet) => {
            packets.push(packet);
            const rule = ruleBroken(packet);
            if (rule !== undefined) broken.push(rule);
            if (packet.type === 'connect' && !levelKnown) {
              levelKnown = true;
              parser = new Parser({ protocolVersion: packet.protocolVersion });
              return false;
            }
            return true;
          });
          rest = rest.subarray(used);
        }
      } catch (error) {
        broken.push({ rule: 'malformed', detail: String(error) });
      }
      if (broken.length > 0) {
        refusals.push(...broken);
        client.destroy();
        upstream.destroy();
        changed();
        return;
      }
      upstream.write(chunk);
      changed();
    });
    upstream.on('data', (chunk: Uint8Array) => client.write(chunk));
  };

  const listen = async (requireAlpn: boolean): Promise<{ server: Server; port: number }> => {
    const server = createServer(
      {
        key: certs.server.key,
        cert: certs.server.cert,
        ...(requireAlpn ? { ALPNProtocols: [AWS_MQTT_ALPN] } : {}),
      },
      (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
        if (typeof socket.servername !== 'string' || socket.servername === '') {
          refuse(socket, 'sni', 'no Server Name Indication');
          return;
        }
        if (requireAlpn && socket.alpnProtocol !== AWS_MQTT_ALPN) {
          refuse(socket, 'alpn', `ALPN ${String(socket.alpnProtocol)} on port 443`);
          return;
        }
        relay(socket);
      },
    );
    // A ClientHello with other ALPN names fails the handshake before the callback.
    server.on('tlsClientError', (error) => {
      refusals.push({ rule: 'tls', detail: error.message });
      changed();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    return { server, port: typeof address === 'object' && address !== null ? address.port : 0 };
  };

  const a = await listen(false);
  const b = await listen(true);
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all(
      [a.server, b.server].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
  };
  t?.after(close);
  return {
    port8883: a.port,
    port443: b.port,
    packets,
    refusals,
    accepted: () => accepted,
    until: (predicate, timeoutMs = 20_000) => changes.until(predicate, 'the condition', timeoutMs),
    broker,
    close,
  };
}

/** The message broker limit a packet breaks, if any. */
function ruleBroken(packet: Packet): AwsRefusal | undefined {
  switch (packet.type) {
    case 'connect':
      if (packet.keepaliveSec > MAX_KEEPALIVE) {
        return { rule: 'keepalive', detail: `keep-alive ${packet.keepaliveSec} s` };
      }
      if (new TextEncoder().encode(packet.clientId).byteLength > MAX_CLIENT_ID) {
        return { rule: 'client-id', detail: 'client id over 128 bytes' };
      }
      return undefined;
    case 'publish':
      if (packet.qos === 2) return { rule: 'qos2', detail: `QoS 2 PUBLISH to ${packet.topic}` };
      if (packet.payload.byteLength > MAX_PAYLOAD) {
        return { rule: 'payload', detail: `${packet.payload.byteLength} bytes` };
      }
      return undefined;
    case 'subscribe':
      if (packet.subscriptions.length > MAX_FILTERS) {
        return { rule: 'filters', detail: `${packet.subscriptions.length} filters in a SUBSCRIBE` };
      }
      return undefined;
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
      return { rule: 'qos2', detail: packet.type };
    default:
      return undefined;
  }
}

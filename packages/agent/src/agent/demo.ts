/**
 * `courier agent --demo`: the LucidIoT example, self-contained.
 *
 * An MQTT broker (aedes) runs in-process on a free (or chosen) loopback port, and the agent
 * connects to it with a simulated module of 8 digital outputs (Value Id 0-7) and 8 RTD inputs
 * (Value Id 8-15): `Valve` subscribed to output 0 with On/Off, `OfficeTemp` published every
 * second from input 8 in °C with QoS 2, and `ValveState` reporting the valve when it changes.
 *
 * @module
 */

import { createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/schema.js';
import { parseConfig } from '../config/validate.js';
import { Agent } from './agent.js';

/** Options of the demo. */
export interface DemoOptions {
  /** Broker port; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Address the broker listens on. @default '127.0.0.1' */
  readonly host?: string;
  /** Seed of the simulated module. */
  readonly seed?: number;
  readonly logger?: Logger;
}

/** A running demo. */
export interface Demo {
  readonly agent: Agent;
  readonly host: string;
  readonly port: number;
  /** Stops the agent, then the broker. */
  stop(): Promise<void>;
}

/** The LucidIoT module's channels: Valve and DO 1-7 (Value Id 0-7), OfficeTemp and RTD 9-15. */
export function lucidChannels(): { id: number; name: string; type: string; unit?: string }[] {
  return [
    ...Array.from({ length: 8 }, (_, i) => ({
      id: i,
      name: i === 0 ? 'Valve' : `DO ${i}`,
      type: 'digital-output',
    })),
    ...Array.from({ length: 8 }, (_, i) => ({
      id: 8 + i,
      name: i === 0 ? 'OfficeTemp' : `RTD ${8 + i}`,
      type: 'rtd-input',
      unit: '°C',
    })),
  ];
}

/**
 * The LucidIoT example's topic table: `Valve` (On/Off) drives output 0, `OfficeTemp` publishes
 * RTD input 8 every second at QoS 2, `ValveState` reports output 0 when it changes, retained.
 */
export function lucidTopics(): Record<string, unknown>[] {
  return [
    {
      topic: 'Valve',
      direction: 'subscribe',
      channel: 0,
      format: { type: 'boolean', on: 'On', off: 'Off' },
      qos: 1,
    },
    {
      topic: 'OfficeTemp',
      direction: 'publish',
      channel: 8,
      format: { type: 'number', precision: 1 },
      qos: 2,
      pubIntervalMs: 1000,
    },
    {
      topic: 'ValveState',
      direction: 'publish',
      channel: 0,
      format: { type: 'boolean', on: 'On', off: 'Off' },
      qos: 1,
      retain: true,
      pubIntervalMs: 250,
      threshold: true,
    },
  ];
}

/** The demo's configuration, pointed at `host:port`. */
export function demoConfig(host: string, port: number, seed?: number): AgentConfig {
  const channels = lucidChannels();
  return parseConfig({
    connection: { server: host, port, clientId: 'courier-demo', keepaliveSec: 30 },
    lwt: { topic: 'courier-demo/status', message: 'offline', qos: 1, retain: true },
    reconnect: { minDelaySec: 1, maxDelaySec: 10 },
    device: {
      name: 'Courier demo: 8 DO + 8 RTD',
      ...(seed === undefined ? {} : { seed }),
      channels,
    },
    topics: lucidTopics(),
  });
}

/** Starts the broker and the agent. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const host = options.host ?? '127.0.0.1';
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const agent = new Agent(
    demoConfig(host, port, options.seed),
    options.logger === undefined ? {} : { logger: options.logger },
  );
  try {
    await agent.start();
  } catch (error) {
    server.close();
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw error;
  }
  return {
    agent,
    host,
    port,
    async stop() {
      await agent.close();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

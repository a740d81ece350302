// What the Chromium tests share: the browser bundle built with the build's own options, the
// HTTP server of the page that loads it, an Aedes broker that records what the page's client
// publishes and how often it subscribes, and headless Chromium launched from Debian's package.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Aedes, type Client as AedesClient, type AedesPublishPacket } from 'aedes';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { browserBuildOptions } from '../../scripts/build-browser.mjs';

/** Debian's Chromium, driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** What the page keeps on `globalThis` for the test to read. */
export interface PageState {
  states: string[];
  received: { topic: string; qos: number; payload: string }[];
  client: {
    publish(topic: string, payload: string, options: { qos: 0 | 1 | 2 }): Promise<void>;
    end(): Promise<void>;
  };
}

/** A PUBLISH the broker received from a client. */
export interface Seen {
  topic: string;
  qos: number;
  payload: string;
  clientId: string;
}

/** The browser bundle's code; fails first, naming the package, if Chromium is missing. */
export async function browserBundle(): Promise<string> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const bundle = await build({ ...browserBuildOptions(), write: false });
  return bundle.outputFiles![0]!.text;
}

/** An HTTP server (not yet listening) of an empty page at `/` and `script` at `/courier-mqtt.js`. */
export function pageServer(script: string, title: string): Server {
  return createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><meta charset="utf-8"><title>${title}</title>`);
    } else if (req.url === '/courier-mqtt.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(script);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
}

/** An Aedes broker and what it saw. */
export interface RecordingBroker {
  readonly broker: Aedes;
  /** Every PUBLISH a client sent (not the broker's own), in order. */
  readonly published: Seen[];
  /** SUBSCRIBE packets from the watched client so far. */
  readonly subscribes: number;
  /** Publishes from the broker itself, resolving once Aedes has handled it. */
  publish(topic: string, payload: string, qos: 0 | 1 | 2): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts an Aedes broker that records every client PUBLISH and counts the SUBSCRIBEs of
 * `clientId`, calling `onEvent` after each so a waiter can re-check.
 */
export async function recordingBroker(
  clientId: string,
  onEvent: () => void,
): Promise<RecordingBroker> {
  const broker = await Aedes.createBroker();
  const published: Seen[] = [];
  let subscribes = 0;
  broker.on('publish', (packet: AedesPublishPacket, client: AedesClient | null) => {
    if (client === null) return; // the broker's own publishes ($SYS, the test's)
    published.push({
      topic: packet.topic,
      qos: packet.qos,
      payload: Buffer.from(packet.payload).toString(),
      clientId: client.id,
    });
    onEvent();
  });
  broker.on('subscribe', (_subs, client) => {
    if (client?.id !== clientId) return;
    subscribes += 1;
    onEvent();
  });
  return {
    broker,
    published,
    get subscribes() {
      return subscribes;
    },
    publish: (topic, payload, qos) =>
      new Promise((resolve, reject) =>
        broker.publish(
          { cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: false, dup: false },
          (error?: Error) => (error === undefined || error === null ? resolve() : reject(error)),
        ),
      ),
    close: () => new Promise<void>((resolve) => broker.close(() => resolve())),
  };
}

/** Headless Chromium with nothing running in the background, plus `extraArgs`. */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/**
 * Runs in the page (pass it to `page.evaluate`): loads the bundle as a module, connects with a
 * fast reconnect, records every state on `globalThis.states`, subscribes to `to-page/#` at
 * `qos` and records what arrives on `globalThis.received`. Answers the client's first state.
 * It must stay self-contained: playwright sends its source text, not its closure.
 */
export async function connectInPage({
  url,
  clientId,
  qos,
}: {
  url: string;
  clientId: string;
  qos: number;
}): Promise<string> {
  const path = '/courier-mqtt.js';
  const courier = await import(path);
  const g = globalThis as unknown as PageState;
  g.states = [];
  g.received = [];
  const client = await courier.connect(url, {
    clientId,
    reconnect: { minDelayMs: 50, maxDelayMs: 200 },
  });
  g.client = client;
  client.on('state', (s: { status: string }) => g.states.push(s.status));
  const sub = await client.subscribe('to-page/#', { qos });
  void (async () => {
    for await (const m of sub) {
      g.received.push({
        topic: m.topic,
        qos: m.qos,
        payload: new TextDecoder().decode(m.payload),
      });
    }
  })();
  return client.state.status as string;
}

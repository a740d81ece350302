/** The MQTT.js contender: two `mqtt` clients, publish callbacks as completions. */

import { connectAsync } from 'mqtt';
import type { ContenderSpec, IdleClient, Pair } from './contender.js';
import { PAYLOAD } from './contender.js';

/** Connects an MQTT.js publisher and subscriber. */
export async function mqttjsPair(spec: ContenderSpec, topic: string): Promise<Pair> {
  const url = `mqtt://127.0.0.1:${spec.port}`;
  const common = { clean: true, reconnectPeriod: 0, protocolVersion: spec.protocolVersion ?? 4 };
  const sub = await connectAsync(url, { ...common, clientId: `mqttjs-sub-${process.pid}` });
  await sub.subscribeAsync(topic, { qos: spec.qos });
  const pub = await connectAsync(url, { ...common, clientId: `mqttjs-pub-${process.pid}` });
  const payload = Buffer.from(PAYLOAD);
  return {
    publish(done) {
      pub.publish(topic, payload, { qos: spec.qos }, (error) => done(error ?? undefined));
    },
    onMessage(fn) {
      sub.on('message', fn);
    },
    async close() {
      await Promise.all([pub.endAsync(), sub.endAsync()]);
    },
  };
}

/** One idle MQTT.js client: keep-alive 60 s, one QoS 1 subscription. */
export const mqttjsIdle: IdleClient = async (port, id, protocolVersion) => {
  const client = await connectAsync(`mqtt://127.0.0.1:${port}`, {
    clientId: `mqttjs-idle-${process.pid}-${id}`,
    clean: true,
    reconnectPeriod: 0,
    keepalive: 60,
    protocolVersion,
  });
  await client.subscribeAsync(`idle/${process.pid}/${id}`, { qos: 1 });
  return async () => {
    await client.endAsync();
  };
};

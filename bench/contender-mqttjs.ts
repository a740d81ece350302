/** The MQTT.js contender: two `mqtt` clients, publish callbacks as completions. */

import { connectAsync } from 'mqtt';
import type { ContenderSpec, Pair } from './contender.js';
import { PAYLOAD } from './contender.js';

/** Connects an MQTT.js publisher and subscriber. */
export async function mqttjsPair(spec: ContenderSpec, topic: string): Promise<Pair> {
  const url = `mqtt://127.0.0.1:${spec.port}`;
  const common = { clean: true, reconnectPeriod: 0, protocolVersion: 4 as const };
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

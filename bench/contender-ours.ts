/** Our contender: two Courier clients; `publish()` promises as completions. */

import { connect, fileStore, memoryStore, type SessionStore } from 'courier-mqtt';
import type { ContenderSpec, IdleClient, Pair } from './contender.js';
import { PAYLOAD, tempStoreDir } from './contender.js';

/** Connects a Courier publisher (with the spec's store) and subscriber. */
export async function oursPair(spec: ContenderSpec, topic: string): Promise<Pair> {
  const url = `mqtt://127.0.0.1:${spec.port}`;
  const protocolVersion = spec.protocolVersion ?? 4;
  const sub = await connect(url, {
    clientId: `ours-sub-${process.pid}`,
    clean: true,
    reconnect: false,
    protocolVersion,
  });
  const subscription = await sub.subscribe(topic, { qos: spec.qos });
  const file = spec.store === 'file' ? fileStore(tempStoreDir()) : undefined;
  const store: SessionStore = file ?? memoryStore();
  const pub = await connect(url, {
    clientId: `ours-pub-${process.pid}`,
    clean: true,
    reconnect: false,
    protocolVersion,
    store,
    maxInflight: spec.window,
  });
  const qos = spec.qos;
  return {
    publish(done) {
      pub.publish(topic, PAYLOAD, { qos }).then(() => done(), done);
    },
    onMessage(fn) {
      // Read the subscription as documented: its iterator. (An unread iterator buffers up to
      // `subscriptionBufferSize` messages, which would be counted against our RSS.)
      void (async () => {
        for await (const _message of subscription) fn();
      })();
    },
    async close() {
      await Promise.all([pub.end(), sub.end()]);
    },
    ...(file === undefined
      ? {}
      : {
          note: () => {
            const s = file.stats;
            return `file store: ${s.syncs} fsyncs, ${s.compactions} compactions`;
          },
        }),
  };
}

/** One idle Courier client: keep-alive 60 s, one QoS 1 subscription. */
export const oursIdle: IdleClient = async (port, id, protocolVersion) => {
  const client = await connect(`mqtt://127.0.0.1:${port}`, {
    clientId: `ours-idle-${process.pid}-${id}`,
    clean: true,
    reconnect: false,
    keepaliveSec: 60,
    protocolVersion,
  });
  await client.subscribe(`idle/${process.pid}/${id}`, { qos: 1 });
  return () => client.end();
};

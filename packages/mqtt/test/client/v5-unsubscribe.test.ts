/**
 * MQTT 5.0 UNSUBACK reason codes against a scripted broker: one code per filter, a code
 * ≥ 0x80 rejects the unsubscribe with an `UnsubscribeRejectedError` naming the filter and
 * the reason; 0x11 (No subscription existed) is a success [MQTT-3.11.3].
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, UnsubscribeRejectedError } from 'courier-mqtt';
import type { UnsubscribePacket } from 'courier-mqtt/packet';
import { startFakeBroker } from '../../../../test/helpers/fake-broker.js';

test('UNSUBACK 0x87 for one filter rejects with UnsubscribeRejectedError; 0x00 and 0x11 resolve', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const pending = connect(broker.url, { protocolVersion: 5, reconnect: false });
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const client = await pending;
  t.after(() => client.end({ force: true }));

  const refused = client.unsubscribe(['plant/a', 'plant/secret']);
  const first = (await c.next('unsubscribe')) as UnsubscribePacket;
  assert.deepEqual(first.topics, ['plant/a', 'plant/secret']);
  c.send({
    type: 'unsuback',
    packetId: first.packetId,
    reasonCodes: [0x00, 0x87],
    properties: { reasonString: 'acl' },
  });
  const error = await refused.then(
    () => assert.fail('a refused unsubscribe resolved'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnsubscribeRejectedError, String(error));
  assert.deepEqual(error.filters, ['plant/a', 'plant/secret']);
  assert.deepEqual(error.reasonCodes, [0x00, 0x87]);
  assert.equal(error.reasonString, 'acl');
  assert.match(error.message, /"plant\/secret": Not authorized \(0x87\): acl/);
  assert.doesNotMatch(error.message, /plant\/a"/);

  const fine = client.unsubscribe(['plant/b', 'never/subscribed']);
  const second = (await c.next('unsubscribe')) as UnsubscribePacket;
  c.send({ type: 'unsuback', packetId: second.packetId, reasonCodes: [0x00, 0x11] });
  await fine;
});

/**
 * MQTT 5.0 request/response (§4.10): `client.request()` and `client.respond()` end to end
 * through a real Mosquitto 2.0 started by the test, and against a scripted broker for the
 * CONNACK's Response Information.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connect,
  InvalidOptionError,
  type Message,
  type Packet,
  QueueFullError,
  RequestTimeoutError,
  type ResponderFailure,
} from 'courier-mqtt';
import type { PublishPacket, SubscribePacket } from 'courier-mqtt/packet';
import { startFakeBroker } from '../../../../test/helpers/fake-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { openV5 as open, text } from './fixture.js';

/** Resolves once `condition` holds, checked after each turn of the event loop (5 s at most). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('request/response end to end: each request gets its own response, matched by Correlation Data', async (t) => {
  const broker = await startMosquitto(t);
  const service = await open(t, broker.url(), { clientId: 'rr-service' });
  const responder = await service.respond('svc/echo', (request) => ({
    payload: `echo:${text(request)}`,
    properties: { contentType: 'text/plain' },
  }));
  const caller = await open(t, broker.url(), { clientId: 'rr-caller' });
  const sent: PublishPacket[] = [];
  caller.on('packetsend', (p: Packet) => {
    if (p.type === 'publish') sent.push(p);
  });
  const replies = await Promise.all(
    ['a', 'b', 'c', 'd', 'e'].map((payload) => caller.request('svc/echo', payload)),
  );
  assert.deepEqual(replies.map(text), ['echo:a', 'echo:b', 'echo:c', 'echo:d', 'echo:e']);
  // The requests went out with the client's private response topic and one Correlation
  // Data each; the responses carry them back, with the handler's own properties.
  assert.equal(sent.length, 5);
  assert.ok(sent.every((p) => p.properties?.responseTopic === 'rr-caller/responses'));
  const correlations = new Set(
    sent.map((p) => Buffer.from(p.properties!.correlationData!).toString('hex')),
  );
  assert.equal(correlations.size, 5);
  for (const reply of replies) {
    assert.equal(reply.topic, 'rr-caller/responses');
    assert.ok(correlations.has(Buffer.from(reply.properties!.correlationData!).toString('hex')));
    assert.equal(reply.properties?.contentType, 'text/plain');
  }
  await until(() => responder.answered === 5, 'the responses to be acknowledged');
  assert.equal(caller.pendingRequestCount, 0);
  assert.equal(caller.unmatchedResponseCount, 0);
});

test('a handler that throws sends nothing and is reported; the responder goes on', async (t) => {
  const broker = await startMosquitto(t);
  const service = await open(t, broker.url());
  const failures: ResponderFailure[] = [];
  service.on('responderror', (f) => failures.push(f));
  const responder = await service.respond('svc/picky', (request) => {
    if (text(request) === 'bad') throw new Error('cannot answer that');
    return 'fine';
  });
  const caller = await open(t, broker.url());
  const refused = caller.request('svc/picky', 'bad', { timeoutMs: 500 });
  await assert.rejects(
    refused,
    (e: unknown) =>
      e instanceof RequestTimeoutError && e.topic === 'svc/picky' && e.timeoutMs === 500,
  );
  assert.equal(failures.length, 1);
  assert.equal(failures[0]!.filter, 'svc/picky');
  assert.equal(text(failures[0]!.request), 'bad');
  assert.match(String(failures[0]!.error), /cannot answer that/);
  assert.equal(text(await caller.request('svc/picky', 'good')), 'fine');
  // Counted once the response's own PUBACK came back, which may follow its delivery.
  await until(() => responder.answered === 1, 'the response to be acknowledged');
  assert.equal(responder.failed, 1);
  // A message without a Response Topic is no request: counted, not answered.
  await caller.publish('svc/picky', 'no response topic', { qos: 1 });
  await until(() => responder.skipped === 1, 'the responder to skip the message');
  await responder.close();
  await assert.rejects(
    caller.request('svc/picky', 'good', { timeoutMs: 200 }),
    RequestTimeoutError,
  );
});

test('respond() with concurrency: a slow request does not hold back the others, and no more than the bound run at once', async (t) => {
  const broker = await startMosquitto(t);
  const service = await open(t, broker.url());
  let running = 0;
  let most = 0;
  let releaseSlow: () => void = () => {};
  const slowGate = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });
  const responder = await service.respond(
    'svc/mixed',
    async (request) => {
      running++;
      most = Math.max(most, running);
      try {
        if (text(request) === 'slow') await slowGate;
        else await new Promise((resolve) => setImmediate(resolve));
        return `done:${text(request)}`;
      } finally {
        running--;
      }
    },
    { concurrency: 2 },
  );
  const caller = await open(t, broker.url());
  const slow = caller.request('svc/mixed', 'slow');
  await until(() => running === 1, 'the slow request to be handled');
  // With one request at a time these would wait behind the slow one (and time out).
  const fast = await Promise.all(
    ['a', 'b', 'c'].map((payload) => caller.request('svc/mixed', payload, { timeoutMs: 5000 })),
  );
  assert.deepEqual(fast.map(text), ['done:a', 'done:b', 'done:c']);
  assert.equal(running, 1, 'the slow request is still being handled');
  assert.equal(most, 2, 'never more than two at once');
  releaseSlow();
  assert.equal(text(await slow), 'done:slow');
  await until(() => responder.answered === 4, 'the responses to be acknowledged');
});

test('a request nobody answers times out; a response after the timeout is counted, not delivered', async (t) => {
  const broker = await startMosquitto(t);
  const caller = await open(t, broker.url(), { clientId: 'rr-late' });
  const slow = await open(t, broker.url());
  const inbox = await slow.subscribe('svc/slow', { qos: 1 });
  const iterator = inbox[Symbol.asyncIterator]();
  const pending = caller.request('svc/slow', 'hello', { timeoutMs: 300 });
  const request = (await iterator.next()).value as Message;
  await assert.rejects(pending, RequestTimeoutError);
  assert.equal(caller.pendingRequestCount, 0);
  // The late answer, to the Response Topic with the request's Correlation Data.
  await slow.publish(request.properties!.responseTopic!, 'too late', {
    qos: 1,
    properties: { correlationData: request.properties!.correlationData! },
  });
  await until(() => caller.unmatchedResponseCount === 1, 'the late response to be counted');
});

test('requests are bounded by maxPendingRequests; options are checked', async (t) => {
  const broker = await startMosquitto(t);
  const caller = await open(t, broker.url(), { maxPendingRequests: 64 });
  const waiting = Array.from({ length: 64 }, (_, i) =>
    caller.request('svc/none', String(i), { timeoutMs: 300 }),
  );
  await assert.rejects(caller.request('svc/none', 'one too many'), QueueFullError);
  for (const request of waiting) await assert.rejects(request, RequestTimeoutError);
  assert.equal(caller.pendingRequestCount, 0);
  const field = (name: string) => (e: unknown) =>
    e instanceof InvalidOptionError && e.field === name;
  await assert.rejects(caller.request('svc', 'x', { timeoutMs: 0 }), field('timeoutMs'));
  await assert.rejects(
    caller.request('svc', 'x', { properties: { correlationData: new Uint8Array(1) } }),
    field('properties.correlationData'),
  );
  await assert.rejects(
    caller.request('svc', 'x', { properties: { responseTopic: 'r' } }),
    field('properties.responseTopic'),
  );
  await assert.rejects(caller.request('svc', 'x', { timeout: 5 } as never), field('timeout'));
  await assert.rejects(caller.request('svc/+', 'x'), { code: 'MQTT_INVALID_TOPIC' });
  await assert.rejects(caller.respond('svc/#', 'x' as never), field('handler'));
  for (const concurrency of [0, 1.5, 1001, '2' as never]) {
    await assert.rejects(
      caller.respond('svc/#', () => 'y', { concurrency }),
      field('concurrency'),
    );
  }
  // Each response topic is a subscription kept for the client's life: 64 at most, the
  // default one (used above) included.
  const many = Array.from({ length: 63 }, (_, i) =>
    caller.request('svc/none', 'x', { timeoutMs: 300, responseTopic: `own/${i}` }),
  );
  await assert.rejects(
    caller.request('svc/none', 'x', { responseTopic: 'own/63' }),
    field('responseTopic'),
  );
  for (const request of many) await assert.rejects(request, RequestTimeoutError);
});

test('3.1.1: request() and respond() are refused with a typed error, nothing sent', async (t) => {
  const broker = await startMosquitto(t);
  const client = await open(t, broker.url(), { protocolVersion: 4 });
  const sent: string[] = [];
  client.on('packetsend', (p) => sent.push(p.type));
  const v5only = (e: unknown) =>
    e instanceof InvalidOptionError && e.field === 'protocolVersion' && /MQTT 5\.0/.test(e.message);
  await assert.rejects(client.request('svc', 'x'), v5only);
  await assert.rejects(
    client.respond('svc', () => 'x'),
    v5only,
  );
  assert.deepEqual(sent, []);
});

test("the response topic is built from the CONNACK's Response Information when asked for", async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const pending = connect(broker.url, {
    protocolVersion: 5,
    reconnect: false,
    requestResponseInformation: true,
  });
  const c = await broker.accept();
  const connectPacket = await c.next('connect');
  assert.equal(
    (connectPacket as { properties?: { requestResponseInformation?: boolean } }).properties
      ?.requestResponseInformation,
    true,
  );
  c.send({
    type: 'connack',
    sessionPresent: false,
    returnCode: 0,
    properties: { responseInformation: 'replies/abc/' },
  });
  const client = await pending;
  t.after(() => client.end({ force: true }));
  const response = client.request('svc/time', 'now?', { qos: 1 });
  const subscribe = (await c.next('subscribe')) as SubscribePacket;
  assert.equal(subscribe.subscriptions[0]!.topic, 'replies/abc/responses');
  // Not yet: the request waits for the SUBACK, so its response cannot arrive unheard.
  assert.equal(
    c.received.some((p) => p.type === 'publish'),
    false,
  );
  c.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [1] });
  const request = (await c.next('publish')) as PublishPacket;
  assert.equal(request.topic, 'svc/time');
  assert.equal(request.properties?.responseTopic, 'replies/abc/responses');
  c.send({ type: 'puback', packetId: request.packetId! });
  // Someone else's response on the same topic is not ours.
  c.send({
    type: 'publish',
    topic: 'replies/abc/responses',
    payload: new TextEncoder().encode('not yours'),
    qos: 0,
    retain: false,
    dup: false,
    properties: { correlationData: new Uint8Array([1, 2, 3]) },
  });
  c.send({
    type: 'publish',
    topic: 'replies/abc/responses',
    payload: new TextEncoder().encode('noon'),
    qos: 0,
    retain: false,
    dup: false,
    properties: { correlationData: request.properties!.correlationData! },
  });
  assert.equal(text(await response), 'noon');
  assert.equal(client.unmatchedResponseCount, 1);
});

test('a client id that cannot be a topic level gets one random response topic, subscribed once', async (t) => {
  const broker = await startFakeBroker(t, { protocolVersion: 5 });
  const pending = connect(broker.url, { protocolVersion: 5, reconnect: false, clientId: 'dev/+1' });
  const c = await broker.accept();
  await c.next('connect');
  c.send({ type: 'connack', sessionPresent: false, returnCode: 0 });
  const client = await pending;
  t.after(() => client.end({ force: true }));
  const first = client.request('svc/a', '1', { qos: 0, timeoutMs: 5000 });
  const subscribe = (await c.next('subscribe')) as SubscribePacket;
  const topic = subscribe.subscriptions[0]!.topic;
  assert.match(topic, /^courier-[0-9a-f]{16}\/responses$/);
  c.send({ type: 'suback', packetId: subscribe.packetId, returnCodes: [1] });
  const second = client.request('svc/b', '2', { qos: 0, timeoutMs: 5000 });
  const requests = [
    (await c.next('publish')) as PublishPacket,
    (await c.next('publish')) as PublishPacket,
  ];
  assert.deepEqual(
    requests.map((p) => p.properties?.responseTopic),
    [topic, topic],
  );
  for (const request of requests) {
    c.send({
      type: 'publish',
      topic,
      payload: new TextEncoder().encode(`re:${request.topic}`),
      qos: 0,
      retain: false,
      dup: false,
      properties: { correlationData: request.properties!.correlationData! },
    });
  }
  assert.deepEqual([text(await first), text(await second)], ['re:svc/a', 're:svc/b']);
  assert.equal(c.received.filter((p) => p.type === 'subscribe').length, 1);
});

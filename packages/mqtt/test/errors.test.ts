/**
 * One error class per code (undici's pattern): every `MqttErrorCode` has its class, exported
 * from the package entry, with a literal `name`, `instanceof MqttError`, and a `Symbol.for`
 * brand that makes `instanceof` work across duplicate installs. No class without a code of
 * its own (a refinement keeps its parent's), and none that the library never throws.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as entry from '../src/index.js';

const {
  AbortedError,
  AuthenticationError,
  ClientClosedError,
  ConnectionLostError,
  ConnectionRefusedError,
  ConnectTimeoutError,
  InvalidOptionError,
  InvalidTopicError,
  KeepaliveTimeoutError,
  MalformedPacketError,
  MessageDroppedError,
  MessageExpiredError,
  MqttError,
  MqttErrorCode,
  NetworkError,
  PacketTooLargeError,
  PoisonMessageError,
  ProfileViolationError,
  ProtocolError,
  QosDowngradedError,
  PublishRejectedError,
  UnsubscribeRejectedError,
  QueueFullError,
  RequestTimeoutError,
  ServerDisconnectError,
  StoreCorruptionError,
  StoreError,
  StoreLockedError,
  TlsError,
  UnsupportedByServerError,
  WebSocketError,
} = entry;

type ErrorClass = abstract new (...args: never[]) => entry.MqttError;

/** The class of each code, and one instance of it as the library builds it. */
const byCode: { [K in entry.MqttErrorCode]: [ErrorClass, () => entry.MqttError] } = {
  MQTT_MALFORMED_PACKET: [MalformedPacketError, () => new MalformedPacketError('bad', 3, 'R')],
  MQTT_PACKET_TOO_LARGE: [PacketTooLargeError, () => new PacketTooLargeError(10, 5)],
  MQTT_INVALID_TOPIC: [InvalidTopicError, () => new InvalidTopicError('a/#/b', 'bad')],
  MQTT_INVALID_OPTION: [InvalidOptionError, () => new InvalidOptionError('qos', 'bad')],
  MQTT_CONNECTION_REFUSED: [ConnectionRefusedError, () => new ConnectionRefusedError(5, 's')],
  MQTT_CONNECT_TIMEOUT: [ConnectTimeoutError, () => new ConnectTimeoutError('slow', 'h:1')],
  MQTT_CONNECTION_LOST: [ConnectionLostError, () => new ConnectionLostError('s', false, true)],
  MQTT_KEEPALIVE_TIMEOUT: [KeepaliveTimeoutError, () => new KeepaliveTimeoutError(5000)],
  MQTT_CLIENT_CLOSED: [ClientClosedError, () => new ClientClosedError()],
  MQTT_QUEUE_FULL: [QueueFullError, () => new QueueFullError('refused', 'full')],
  MQTT_NETWORK: [NetworkError, () => new NetworkError('down', 'h:1', 'ECONNREFUSED')],
  MQTT_TLS: [TlsError, () => new TlsError('handshake')],
  MQTT_WEBSOCKET: [WebSocketError, () => new WebSocketError('upgrade')],
  MQTT_PROTOCOL: [ProtocolError, () => new ProtocolError('CONNACK twice', 'MQTT-3.2.0-1')],
  MQTT_STORE: [StoreError, () => new StoreError('write', '/x', 'failed')],
  MQTT_ABORTED: [AbortedError, () => new AbortedError('connect aborted')],
  MQTT_MESSAGE_DROPPED: [MessageDroppedError, () => new MessageDroppedError('t', 'full')],
  MQTT_POISON_MESSAGE: [PoisonMessageError, () => new PoisonMessageError('t', 1, 3)],
  MQTT_QOS_DOWNGRADED: [QosDowngradedError, () => new QosDowngradedError('t')],
  MQTT_AUTHENTICATION: [AuthenticationError, () => new AuthenticationError('SCRAM-SHA-256', 'x')],
  MQTT_NOT_SUPPORTED_BY_SERVER: [
    UnsupportedByServerError,
    () => new UnsupportedByServerError('retain', 'no retain'),
  ],
  MQTT_PUBLISH_REJECTED: [PublishRejectedError, () => new PublishRejectedError('t', 0x87)],
  MQTT_UNSUBSCRIBE_REJECTED: [
    UnsubscribeRejectedError,
    () => new UnsubscribeRejectedError(['a', 'b'], [0x00, 0x87]),
  ],
  MQTT_DISCONNECTED_BY_SERVER: [ServerDisconnectError, () => new ServerDisconnectError('s', 0x8b)],
  MQTT_PROFILE_VIOLATION: [
    ProfileViolationError,
    () => new ProfileViolationError('aws-iot', 'AWS IoT Core', 'publish-qos', 'QoS 2'),
  ],
  MQTT_MESSAGE_EXPIRED: [MessageExpiredError, () => new MessageExpiredError('t', 5, 6000)],
  MQTT_REQUEST_TIMEOUT: [RequestTimeoutError, () => new RequestTimeoutError('t', 1000)],
};

/** Subclasses that refine a code's class and keep its code. */
const refinements: [ErrorClass, ErrorClass, () => entry.MqttError][] = [
  [StoreLockedError, StoreError, () => new StoreLockedError('/x/lock', 1)],
  [
    StoreCorruptionError,
    StoreError,
    () => new StoreCorruptionError('/x/log', 'torn-tail', 10, 4, 'short record'),
  ],
  [
    entry.WebSocketFrameError,
    entry.WebSocketError,
    () => new entry.WebSocketFrameError('masked frame', 'RFC 6455 §5.1', 1002),
  ],
];

const brand = (name: string): symbol => Symbol.for(`courier-mqtt.error.${name}`);

/** The literal a class declares as its `name`. */
function declaredName(cls: ErrorClass): string | undefined {
  const getter = Object.getOwnPropertyDescriptor(cls.prototype, 'name')?.get;
  return getter === undefined ? undefined : String(getter.call(cls.prototype));
}

test('every code has its class: the code, a literal name, instanceof MqttError, the brand', () => {
  const codes = Object.values(MqttErrorCode);
  assert.deepEqual(Object.keys(byCode).sort(), [...codes].sort(), 'a class for each code');
  for (const code of codes) {
    const [cls, make] = byCode[code];
    const error = make();
    const name = declaredName(cls);
    assert.equal(typeof name, 'string', `${cls.name} declares its name`);
    assert.equal(name, cls.name, `${cls.name}: the literal is the class name`);
    assert.equal(error.code, code, `${cls.name} carries ${code}`);
    assert.equal(error.name, name);
    assert.ok(error instanceof MqttError, `${cls.name} instanceof MqttError`);
    assert.ok(error instanceof cls);
    assert.ok(error instanceof Error);
    assert.equal((error as unknown as Record<symbol, unknown>)[brand(name!)], true);
    assert.equal((error as unknown as Record<symbol, unknown>)[brand('MqttError')], true);
    assert.match(String(error), new RegExp(`^${name}: `));
  }
});

test('instanceof works across duplicate installs: the brand decides, not the prototype', () => {
  for (const [cls] of Object.values(byCode)) {
    const name = declaredName(cls)!;
    // An error built by another copy of the package: same brands, other prototypes.
    const foreign = Object.assign(new Error('x'), { code: 'MQTT_X' });
    Object.defineProperty(foreign, brand('MqttError'), { value: true });
    Object.defineProperty(foreign, brand(name), { value: true });
    assert.ok(foreign instanceof cls, `${name} recognises a foreign copy`);
    assert.ok(foreign instanceof MqttError);
  }
  // And a brand is not a class: a ConnectionLostError is no ProtocolError.
  assert.ok(!(new ConnectionLostError('s', false, false) instanceof ProtocolError));
  assert.ok(!(new NetworkError('down', 'h:1') instanceof ConnectTimeoutError));
});

test('a refinement keeps its parent class and code; no other class shares a code', () => {
  for (const [cls, parent, make] of refinements) {
    const error = make();
    assert.ok(error instanceof parent, `${cls.name} is a ${parent.name}`);
    assert.equal(declaredName(cls), cls.name);
    const parentCode = Object.entries(byCode).find(([, [c]]) => c === parent)?.[0];
    assert.equal(error.code, parentCode);
  }
  const known = new Set<unknown>([
    MqttError,
    ...Object.values(byCode).map(([c]) => c),
    ...refinements.map(([c]) => c),
  ]);
  // `instanceof` reads instance brands: walk the prototypes to find the classes.
  const exported = (Object.values(entry) as unknown[]).filter(
    (value): value is ErrorClass =>
      typeof value === 'function' &&
      (value === MqttError ||
        Object.prototype.isPrototypeOf.call(MqttError.prototype, value.prototype)),
  );
  for (const cls of exported) assert.ok(known.has(cls), `${cls.name} is a code's class`);
  assert.equal(exported.length, known.size, 'every class is exported from the package entry');
});

// ─── the sources ─────────────────────────────────────────────────────────────────────

const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

test('every class is thrown somewhere, and no error is built from a bare code', () => {
  const files = sources(srcDir).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
  const classes = [...Object.values(byCode).map(([c]) => c), ...refinements.map(([c]) => c)];
  for (const cls of classes) {
    const used = files.some(({ text }) =>
      new RegExp(`new ${cls.name}\\(|${cls.name}\\.(fromOs|failed)\\(`).test(text),
    );
    assert.ok(used, `${cls.name} is constructed by the library`);
  }
  const bare = files
    .filter(({ text }) => /new MqttError\(/.test(text))
    .map(({ path }) => path.slice(srcDir.length + 1));
  // The codec's refusal of MQTT 5.0 goes with the codec's 5.0 support.
  assert.deepEqual(
    bare.filter((path) => path !== join('packet', 'decode.ts')),
    [],
  );
});

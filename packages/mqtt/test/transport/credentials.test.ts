/**
 * User name and password against a Mosquitto password file (`allow_anonymous false`): the right
 * credentials connect, wrong ones are refused in words with CONNACK 4 or 5, a binary password
 * works, and the secret appears nowhere in the error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { ConnectionRefusedError, connect } from 'courier-mqtt';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';

const SECRET = 'S3cret-Passw0rd-xyz';
const BINARY = 'pässwörd-ü';

test('password file: right, wrong and binary passwords; no secret in errors', async (t) => {
  const broker = await startMosquitto(t, {
    allowAnonymous: false,
    users: { alice: SECRET, bob: BINARY },
  });
  const url = `mqtt://127.0.0.1:${broker.port}`;

  const ok = await connect(url, { username: 'alice', password: SECRET, reconnect: false });
  assert.equal(ok.state.status, 'connected');
  await ok.end();

  const bin = await connect(url, {
    username: 'bob',
    password: new TextEncoder().encode(BINARY),
    reconnect: false,
  });
  assert.equal(bin.state.status, 'connected');
  await bin.end();

  const wrong = 'wrong-Passw0rd-abc';
  const error = await connect(url, { username: 'alice', password: wrong, reconnect: false }).then(
    () => assert.fail('a wrong password must be refused'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionRefusedError, String(error));
  assert.ok([4, 5].includes(error.returnCode), String(error.returnCode));
  assert.match(error.message, /user name or password|not authori[sz]ed/);
  for (const text of [String(error), error.message, JSON.stringify(error), inspect(error)]) {
    assert.ok(!text.includes(wrong), 'the password leaked into the error');
    assert.ok(!text.includes(SECRET), 'a secret leaked into the error');
  }

  await assert.rejects(
    connect(url, { reconnect: false }),
    (e: unknown) => e instanceof ConnectionRefusedError && [4, 5].includes(e.returnCode),
  );
});

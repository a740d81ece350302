/**
 * SCRAM-SHA-256 (RFC 5802 / RFC 7677) as an MQTT 5.0 authenticator: the RFC 7677 test
 * vector byte for byte, every malformed server message as a typed error naming the field,
 * and full exchanges (connect and re-authentication) against a SCRAM server scripted here
 * from the RFC, with random nonces.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  AuthenticationError,
  type Authenticator,
  InvalidOptionError,
  MqttErrorCode,
  SCRAM_MAX_ATTRIBUTE_CHARS,
  SCRAM_MAX_MESSAGE_BYTES,
  SCRAM_SHA_256,
  ScramSha256Authenticator,
  saslprep,
} from '../../src/index.js';
import { ScriptedScramServer } from './scram-server.js';

const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

// RFC 7677 §3.
const RFC = {
  username: 'user',
  password: 'pencil',
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst:
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal:
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function rfcClient(): ScramSha256Authenticator {
  return new ScramSha256Authenticator({
    username: RFC.username,
    password: RFC.password,
    clientNonce: () => RFC.clientNonce,
  });
}

/** An RFC client that has sent its client-first-message. */
function started(): ScramSha256Authenticator {
  const client = rfcClient();
  client.start();
  return client;
}

/** Asserts an AuthenticationError on `field`, and returns it for more checks. */
async function refused(
  action: () => unknown,
  field: string | undefined,
  message?: RegExp,
): Promise<AuthenticationError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof AuthenticationError, `an AuthenticationError, got ${String(caught)}`);
  assert.equal(caught.code, MqttErrorCode.AUTHENTICATION);
  assert.equal(caught.method, SCRAM_SHA_256);
  assert.equal(caught.field, field);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

describe('RFC 7677 §3 test vector', () => {
  test('client-first, client-final and the server signature, exactly', async () => {
    const client: Authenticator = rfcClient();
    assert.equal(client.method, 'SCRAM-SHA-256');
    assert.equal(text(client.start()), RFC.clientFirst);
    assert.equal(text(await client.challenge(bytes(RFC.serverFirst))), RFC.clientFinal);
    await client.success(bytes(RFC.serverFinal));
  });

  test('a server-final sent in AUTH 0x18 is verified there; CONNACK then carries no data', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    assert.equal((await client.challenge(bytes(RFC.serverFinal))).length, 0);
    client.success(undefined);
  });

  test('a wrong server signature is refused', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    // The signature of another password, same length.
    const forged = `v=${createHmac('sha256', 'x').update('y').digest('base64')}`;
    await refused(() => client.success(bytes(forged)), 'server-final-message.v', /does not verify/);
  });

  test('a signature of the wrong length, or not base64, is refused', async () => {
    for (const [final, pattern] of [
      ['v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5n', /has 24 bytes, not 32/],
      ['v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4', /not base64/],
      ['v=!!!!', /not base64/],
    ] as const) {
      const client = started();
      await client.challenge(bytes(RFC.serverFirst));
      await refused(() => client.success(bytes(final)), 'server-final-message.v', pattern);
    }
  });

  test('success with no server-final-message is refused: the server never proved itself', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    await refused(() => client.success(undefined), 'server-final-message', /without its/);
  });
});

describe('malformed server-first-message', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a nonce that does not extend ours',
      'r=someoneElsesNonce%abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'server-first-message.r',
      /does not extend/,
    ],
    [
      'our nonce with no server part',
      'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'server-first-message.r',
      /does not extend/,
    ],
    [
      'a nonce with a non-printable character',
      'r=rOprNGfwEbeRWgbNEkqO%h\u00e9,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'server-first-message.r',
      /printable/,
    ],
    [
      'a salt that is not base64',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096',
      'server-first-message.s',
      /not base64/,
    ],
    [
      'a salt with characters outside base64',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0S*Y7soEsUEjb6gQ==,i=4096',
      'server-first-message.s',
      /not base64/,
    ],
    ['an empty salt', 'r=rOprNGfwEbeRWgbNEkqO%hvY,s=,i=4096', 'server-first-message.s', /empty/],
    [
      'an absurd iteration count',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000000000',
      'server-first-message.i',
      /outside the accepted 4096\.\.1048576/,
    ],
    [
      'an iteration count past any number we parse',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999',
      'server-first-message.i',
      /not a positive number/,
    ],
    [
      'an iteration count below 4096 (a downgrade)',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1',
      'server-first-message.i',
      /outside the accepted/,
    ],
    [
      'a zero iteration count',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0',
      'server-first-message.i',
      /not a positive number/,
    ],
    [
      'a negative iteration count',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-4096',
      'server-first-message.i',
      /not a positive number/,
    ],
    [
      'attributes out of order',
      's=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvY,i=4096',
      'server-first-message.r',
      /must be "r="/,
    ],
    [
      'a missing iteration count',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==',
      'server-first-message.i',
      /got nothing/,
    ],
    [
      'a mandatory extension',
      'm=x,r=rOprNGfwEbeRWgbNEkqO%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'server-first-message.m',
      /mandatory extension/,
    ],
    [
      'a part that is no attribute',
      'r=rOprNGfwEbeRWgbNEkqO%hvY,,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
      'server-first-message',
      /part 2 is not/,
    ],
  ];
  for (const [name, serverFirst, field, pattern] of cases) {
    test(name, async () => {
      const client = started();
      await refused(() => client.challenge(bytes(serverFirst)), field, pattern);
      // A failed exchange stays failed: no later step may complete it.
      await refused(() => client.challenge(bytes(RFC.serverFirst)), undefined, /failed earlier/);
      await refused(() => client.success(bytes(RFC.serverFinal)), undefined, /failed earlier/);
    });
  }

  test('extensions after the iteration count are ignored (RFC 5802 §7)', async () => {
    const client = started();
    const final = await client.challenge(bytes(`${RFC.serverFirst},x=future`));
    assert.match(text(final), /^c=biws,r=rOprNGfwEbeRWgbNEkqO%hvY/);
  });

  test('no data, invalid UTF-8, an oversize message or value', async () => {
    await refused(() => started().challenge(undefined), 'server-first-message', /no data/);
    await refused(
      () => started().challenge(new Uint8Array([0x72, 0x3d, 0xff])),
      'server-first-message',
      /UTF-8/,
    );
    const big = new Uint8Array(SCRAM_MAX_MESSAGE_BYTES + 1).fill(0x61);
    await refused(() => started().challenge(big), 'server-first-message', /4097 bytes/);
    const longNonce = `r=${RFC.clientNonce}${'x'.repeat(SCRAM_MAX_ATTRIBUTE_CHARS)}`;
    await refused(
      () => started().challenge(bytes(`${longNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`)),
      'server-first-message.r',
      /more than the 1024 accepted/,
    );
  });

  test('a server error in the first message is reported with its value', async () => {
    const error = await refused(
      () => started().challenge(bytes('e=unknown-user')),
      'server-first-message.e',
    );
    assert.equal(error.serverError, 'unknown-user');
  });

  test('a wider iteration window is honoured when configured', async () => {
    const client = new ScramSha256Authenticator({
      username: 'user',
      password: 'pencil',
      minIterationCount: 1,
      maxIterationCount: 4096,
      clientNonce: () => RFC.clientNonce,
    });
    client.start();
    await client.challenge(bytes(RFC.serverFirst.replace('i=4096', 'i=1')));
    const strict = new ScramSha256Authenticator({
      username: 'user',
      password: 'pencil',
      maxIterationCount: 4096,
      clientNonce: () => RFC.clientNonce,
    });
    strict.start();
    await refused(
      () => strict.challenge(bytes(RFC.serverFirst.replace('i=4096', 'i=4097'))),
      'server-first-message.i',
      /4096\.\.4096/,
    );
  });
});

describe('server-final-message', () => {
  test('an e= server error is a typed error carrying the server value', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    const error = await refused(
      () => client.success(bytes('e=invalid-proof')),
      'server-final-message.e',
      /invalid-proof/,
    );
    assert.equal(error.serverError, 'invalid-proof');
  });

  test('an attribute other than v= or e= is refused', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    await refused(() => client.success(bytes('x=1')), 'server-final-message.v', /"v=" or "e="/);
  });
});

describe('order of the steps', () => {
  test('a challenge or success before start() is refused', async () => {
    await refused(() => rfcClient().challenge(bytes(RFC.serverFirst)), undefined, /no exchange/);
    await refused(() => rfcClient().success(bytes(RFC.serverFinal)), undefined, /early/);
  });

  test('success right after the client-first-message is refused', async () => {
    await refused(() => started().success(undefined), undefined, /early/);
  });

  test('a third challenge, or data after a verified server-final, is refused', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    await client.challenge(bytes(RFC.serverFinal));
    await refused(() => started().success(bytes('v=')), undefined, /early/);
    await refused(() => client.success(bytes('v=x')), 'server-final-message', /after/);
    const other = started();
    await other.challenge(bytes(RFC.serverFirst));
    await other.challenge(bytes(RFC.serverFinal));
    await refused(() => other.challenge(bytes('v=x')), undefined, /already complete/);
  });

  test('start() abandons an unfinished exchange and begins afresh', async () => {
    const client = started();
    await client.challenge(bytes(RFC.serverFirst));
    assert.equal(text(client.start()), RFC.clientFirst);
    assert.equal(text(await client.challenge(bytes(RFC.serverFirst))), RFC.clientFinal);
    client.success(bytes(RFC.serverFinal));
  });

  test('an exchange abandoned during the key derivation does not disturb the new one', async () => {
    const client = started();
    const stale = client.challenge(bytes(RFC.serverFirst));
    assert.equal(text(client.start()), RFC.clientFirst);
    await refused(() => stale, undefined, /abandoned/);
    assert.equal(text(await client.challenge(bytes(RFC.serverFirst))), RFC.clientFinal);
    client.success(bytes(RFC.serverFinal));
  });
});

describe('options', () => {
  const base = { username: 'user', password: 'pencil' };
  const cases: [string, unknown, string][] = [
    ['an empty user name', { ...base, username: '' }, 'scram.username'],
    ['a user name that is not a string', { ...base, username: 42 }, 'scram.username'],
    ['an empty password', { ...base, password: '' }, 'scram.password'],
    ['a control character in the user name', { ...base, username: 'us\u0007er' }, 'scram.username'],
    ['a private-use character in the password', { ...base, password: 'p\uE000' }, 'scram.password'],
    ['a name that prepares to nothing', { ...base, username: '\u00AD' }, 'scram.username'],
    ['an oversize password', { ...base, password: 'p'.repeat(1025) }, 'scram.password'],
    ['a zero minimum', { ...base, minIterationCount: 0 }, 'scram.minIterationCount'],
    ['a maximum below the minimum', { ...base, maxIterationCount: 100 }, 'scram.maxIterationCount'],
    ['an absurd maximum', { ...base, maxIterationCount: 2 ** 30 }, 'scram.maxIterationCount'],
    ['a nonce maker that is no function', { ...base, clientNonce: 'abc' }, 'scram.clientNonce'],
    ['an unknown option', { ...base, user: 'x' }, 'scram.user'],
  ];
  for (const [name, options, field] of cases) {
    test(name, () => {
      assert.throws(
        () => new ScramSha256Authenticator(options as never),
        (error: unknown) => error instanceof InvalidOptionError && error.field === field,
      );
    });
  }

  test('a nonce maker returning a comma or nothing is refused at start()', () => {
    for (const nonce of ['a,b', '', 'caf\u00e9']) {
      const client = new ScramSha256Authenticator({ ...base, clientNonce: () => nonce });
      assert.throws(
        () => client.start(),
        (error: unknown) =>
          error instanceof InvalidOptionError && error.field === 'scram.clientNonce',
      );
    }
  });

  test('the default nonce is random: two exchanges never share one', () => {
    const client = new ScramSha256Authenticator(base);
    const nonceOf = (data: Uint8Array): string => text(data).split(',r=')[1]!;
    const a = nonceOf(client.start());
    const b = nonceOf(client.reauthenticate());
    assert.notEqual(a, b);
    assert.ok(a.length >= 24);
  });

  test('SASLprep: spaces mapped, soft hyphens dropped, NFKC applied', () => {
    assert.equal(saslprep('I\u00ADX', 'f'), 'IX'); // RFC 4013 §3 example 1
    assert.equal(saslprep('user', 'f'), 'user'); // example 2
    assert.equal(saslprep('\u00AA', 'f'), 'a'); // example 4
    assert.equal(saslprep('\u2168', 'f'), 'IX'); // example 5
    assert.equal(saslprep('a\u00A0b', 'f'), 'a b');
    assert.throws(() => saslprep('\u0007', 'f'), InvalidOptionError); // example 6
  });
});

// ─── a SCRAM-SHA-256 server, scripted from RFC 5802 §3 and §5 ───────────────────────

/**
 * One exchange as the MQTT client will drive it: CONNECT (or AUTH 0x19) with the first data,
 * AUTH 0x18 rounds, then the success packet's data.
 */
async function exchange(
  client: Authenticator,
  server: ScriptedScramServer,
  first: Uint8Array | undefined,
): Promise<void> {
  const serverFirst = server.first(first);
  const clientFinal = await client.challenge(serverFirst);
  await client.success(server.final(clientFinal));
}

describe('full exchanges against a scripted SCRAM server', () => {
  test('connect then re-authenticate, with fresh random nonces each time', async () => {
    const server = new ScriptedScramServer();
    server.addUser('sensor-7', 'correct horse battery staple');
    const client = new ScramSha256Authenticator({
      username: 'sensor-7',
      password: 'correct horse battery staple',
    });
    await exchange(client, server, client.start());
    await exchange(client, server, client.reauthenticate());
    await exchange(client, server, client.reauthenticate());
    assert.equal(new Set(server.nonces).size, 3);
  });

  test('user names with "=" and ","; passwords that SASLprep maps', async () => {
    const server = new ScriptedScramServer();
    server.addUser('a=b,c', 'pass word');
    server.addUser('plant', 'pass');
    const escaped = new ScramSha256Authenticator({ username: 'a=b,c', password: 'pass\u00A0word' });
    assert.match(text(escaped.start()), /^n,,n=a=3Db=2Cc,r=/);
    await exchange(escaped, server, escaped.start());
    // Fullwidth letters are NFKC-equivalent to ASCII.
    const fullwidth = new ScramSha256Authenticator({
      username: 'plant',
      password: '\uFF50\uFF41\uFF53\uFF53',
    });
    await exchange(fullwidth, server, fullwidth.start());
  });

  test('a wrong password: the server answers e=invalid-proof, a typed error', async () => {
    const server = new ScriptedScramServer();
    server.addUser('user', 'pencil');
    const client = new ScramSha256Authenticator({ username: 'user', password: 'pen' });
    const error = await refused(
      () => exchange(client, server, client.start()),
      'server-final-message.e',
    );
    assert.equal(error.serverError, 'invalid-proof');
  });

  test('an unknown user: the server refuses at its first message', async () => {
    const server = new ScriptedScramServer();
    const client = new ScramSha256Authenticator({ username: 'nobody', password: 'x' });
    const error = await refused(
      () => exchange(client, server, client.start()),
      'server-first-message.e',
    );
    assert.equal(error.serverError, 'unknown-user');
  });

  test('an impostor that relays the server-first but cannot sign is refused', async () => {
    const real = new ScriptedScramServer();
    real.addUser('user', 'pencil');
    const client = new ScramSha256Authenticator({ username: 'user', password: 'pencil' });
    // The impostor relays the real server's first message, then signs with what it knows.
    const serverFirst = real.first(client.start());
    const clientFinal = await client.challenge(serverFirst);
    const realFinal = text(real.final(clientFinal));
    assert.match(realFinal, /^v=/);
    const forged = createHmac('sha256', 'guess').update(realFinal).digest('base64');
    await refused(() => client.success(bytes(`v=${forged}`)), 'server-final-message.v');
  });
});

/**
 * The server's side of SCRAM-SHA-256, written from RFC 5802 §3/§5 and RFC 7677 (never from
 * our client): shared by the authenticator's unit tests and the MQTT AUTH tests against the
 * scripted broker.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

interface ServerUser {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/**
 * The server's side, as the RFC describes it: it keeps StoredKey and ServerKey only (never
 * the password), draws its nonce at random, and checks the client's proof by recovering
 * ClientKey = ClientProof XOR ClientSignature and comparing H(ClientKey) with StoredKey.
 */
export class ScriptedScramServer {
  readonly #users = new Map<string, ServerUser>();
  #pending:
    | { user: ServerUser; clientFirstBare: string; serverFirst: string; nonce: string }
    | undefined;
  /** Each server nonce handed out, to check they are fresh. */
  readonly nonces: string[] = [];

  /** `password` as the server stores it, already prepared. */
  addUser(name: string, password: string, iterations = 4096): void {
    const salt = randomBytes(16);
    const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    this.#users.set(name, {
      salt,
      iterations,
      storedKey: createHash('sha256').update(clientKey).digest(),
      serverKey: createHmac('sha256', salted).update('Server Key').digest(),
    });
  }

  /** client-first-message → server-first-message (or `e=` for an unknown user). */
  first(data: Uint8Array | undefined): Uint8Array {
    const message = text(data);
    assert.ok(message.startsWith('n,,'), 'gs2 header without channel binding');
    const clientFirstBare = message.slice(3);
    const match = /^n=([^,]*),r=([\x21-\x2B\x2D-\x7E]+)$/.exec(clientFirstBare);
    assert.ok(match, `client-first-message-bare: ${clientFirstBare}`);
    const name = match[1]!.replace(/=2C/g, ',').replace(/=3D/g, '=');
    const user = this.#users.get(name);
    if (user === undefined) return bytes('e=unknown-user');
    const serverNonce = randomBytes(18).toString('base64');
    this.nonces.push(serverNonce);
    const nonce = `${match[2]}${serverNonce}`;
    const serverFirst = `r=${nonce},s=${user.salt.toString('base64')},i=${user.iterations}`;
    this.#pending = { user, clientFirstBare, serverFirst, nonce };
    return bytes(serverFirst);
  }

  /** client-final-message → server-final-message: `v=` when the proof verifies, else `e=`. */
  final(data: Uint8Array | undefined): Uint8Array {
    const pending = this.#pending;
    assert.ok(pending, 'a client-final after a server-first');
    this.#pending = undefined;
    const match = /^(c=([^,]*),r=([^,]*)),p=([A-Za-z0-9+/=]+)$/.exec(text(data));
    assert.ok(match, `client-final-message: ${text(data)}`);
    const [, withoutProof, channel, nonce, proof64] = match as unknown as string[];
    if (channel !== 'biws') return bytes('e=channel-bindings-dont-match');
    if (nonce !== pending.nonce) return bytes('e=other-error');
    const authMessage = `${pending.clientFirstBare},${pending.serverFirst},${withoutProof}`;
    const clientSignature = createHmac('sha256', pending.user.storedKey)
      .update(authMessage)
      .digest();
    const proof = Buffer.from(proof64!, 'base64');
    if (proof.length !== 32) return bytes('e=invalid-proof');
    const clientKey = Buffer.from(proof.map((b, i) => b ^ clientSignature[i]!));
    const storedKey = createHash('sha256').update(clientKey).digest();
    if (!timingSafeEqual(storedKey, pending.user.storedKey)) return bytes('e=invalid-proof');
    const serverSignature = createHmac('sha256', pending.user.serverKey)
      .update(authMessage)
      .digest();
    return bytes(`v=${serverSignature.toString('base64')}`);
  }
}

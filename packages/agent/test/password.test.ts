// The admin password: scrypt hashes, and the queue that runs checks one at a time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, PasswordChecks, verifyPassword } from '../src/web/password.js';

describe('admin password', () => {
  it('a hash verifies its own password only, and a foreign hash verifies nothing', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsE', hash), false);
    assert.equal(await verifyPassword('correct horse', '$2b$10$bcrypt-is-not-ours'), false);
    assert.equal(await verifyPassword('correct horse', 'scrypt$x$8$1$AAAA$AAAA'), false);
  });

  it('checks queue one behind the other, and a full queue refuses more until it drains', async () => {
    const hash = await hashPassword('correct horse');
    const checks = new PasswordChecks(3);
    const order: number[] = [];
    const queued = [0, 1, 2].map((i) =>
      checks.verify(i === 1 ? 'correct horse' : `wrong ${i}`, hash)?.then((ok) => {
        order.push(i);
        return ok;
      }),
    );
    assert.ok(queued.every((p) => p !== undefined));
    assert.equal(checks.verify('correct horse', hash), undefined, 'the fourth is refused');
    assert.deepEqual(await Promise.all(queued), [false, true, false]);
    assert.deepEqual(order, [0, 1, 2], 'in the order they came');
    assert.equal(await checks.verify('correct horse', hash), true, 'room again once drained');
  });
});

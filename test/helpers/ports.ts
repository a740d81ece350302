/**
 * Free loopback ports for peers started by the tests.
 *
 * @module
 */
import { createServer } from 'node:net';

/** A port that was free a moment ago on `host` (the kernel picks it: listen on port 0). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

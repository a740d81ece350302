/**
 * Free loopback ports for peers started by tests. Tests never use a fixed port: a broker or
 * Redis already running on the machine must never be touched.
 *
 * @module
 */

import { createServer } from 'node:net';

/**
 * Returns a TCP port that was free on `host` a moment ago: the kernel picks it (port 0), the
 * probe server is closed, and the number is handed to a peer that binds it next.
 *
 * @param host - address to probe, `'127.0.0.1'` by default; `'::1'` for an IPv6 listener.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`could not read the port bound on ${host}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

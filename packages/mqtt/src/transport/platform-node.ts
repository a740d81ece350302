/**
 * What the client needs from the platform, for Node: the transports (TCP, TLS, TLS-PSK,
 * WebSocket over `node:net`/`node:tls`), the checks of the TLS and PSK options, and the
 * schedulers. The client imports it as `#platform` (package.json `imports`): a bundler
 * building for the browser takes `platform-browser.ts` instead, so no Node module reaches a
 * browser bundle.
 *
 * @module
 */

export { openTransport } from './open.js';
export { checkPskOptions } from './psk-options.js';
export { checkTlsOptions } from './tls-options.js';

/** Every URL scheme: `mqtt`, `mqtts`, `ws`, `wss`. */
export function checkProtocol(_protocol: string, _field: string): void {}

/** Every address family: 4, 6 or 0 (checked by the caller). */
export function checkFamily(_family: number, _field: string): void {}

/** Runs `callback` before any I/O and any promise reaction (used to uncork once per tick). */
export const nextTick: (callback: () => void) => void = process.nextTick;

/**
 * Runs `callback` after pending I/O (used to let written bytes reach the socket). Looked up
 * at each call, so that fake timers installed after import apply.
 */
export function afterIo(callback: () => void): void {
  setImmediate(callback);
}

/** Lets the process exit while only this timer is left (a client must not keep it alive). */
export function unref(timer: ReturnType<typeof setTimeout>): void {
  timer.unref();
}

/** Reports a problem that is not the client's to throw (e.g. a throwing trace function). */
export function warn(message: string): void {
  process.emitWarning(message);
}

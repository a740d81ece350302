// A small Modbus slave written from the specification (MODBUS Application Protocol v1.1b3 and
// Modbus Messaging on TCP/IP v1.0b; RTU framing from Modbus over Serial Line v1.02), for the
// driver's tests: an independent peer, not the library tested against itself. It serves FC1-6,
// FC15 and FC16 from memory, per unit; it can refuse addresses (exception 0x02), answer an
// exception for a whole unit (e.g. 0x06 busy), stay silent for a unit, and it records every
// request it receives.
import { once } from 'node:events';
import { openSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ReadStream, WriteStream } from 'node:tty';

/** One request the slave received. */
export interface SeenRequest {
  readonly unit: number;
  readonly fc: number;
  readonly address: number;
  /** Quantity of bits or registers (1 for FC5/FC6). */
  readonly count: number;
}

/** The data of one unit: 65,536 of each table. */
export class UnitMemory {
  readonly coils = new Uint8Array(65536);
  readonly discrete = new Uint8Array(65536);
  readonly input = new Uint16Array(65536);
  readonly holding = new Uint16Array(65536);
}

/** The Modbus CRC-16 (polynomial 0xA001 reflected, initial 0xFFFF), sent low byte first. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** A slave: memory per unit and the faults to play. */
export class ModbusSlave {
  readonly units = new Map<number, UnitMemory>();
  readonly requests: SeenRequest[] = [];
  /** Units that never answer. */
  readonly silent = new Set<number>();
  /** Units that answer every request with this exception code. */
  readonly exceptions = new Map<number, number>();
  /** `unit:table:address` refused with 0x02; table is `coil`, `discrete`, `input`, `holding`. */
  readonly illegal = new Set<string>();
  readonly #waiters = new Set<() => void>();

  /** The memory of `unit`, made on first use. */
  unit(unit: number): UnitMemory {
    let memory = this.units.get(unit);
    if (memory === undefined) {
      memory = new UnitMemory();
      this.units.set(unit, memory);
    }
    return memory;
  }

  /** Resolves once `count` requests in all have been received. */
  async waitForRequests(count: number): Promise<void> {
    while (this.requests.length < count) {
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
  }

  /** The answer PDU to a request PDU, or undefined to stay silent. */
  handle(unit: number, pdu: Buffer): Buffer | undefined {
    const fc = pdu[0] ?? 0;
    const address = pdu.length >= 3 ? pdu.readUInt16BE(1) : 0;
    const count = fc === 5 || fc === 6 ? 1 : pdu.length >= 5 ? pdu.readUInt16BE(3) : 0;
    this.requests.push({ unit, fc, address, count });
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
    if (this.silent.has(unit)) return undefined;
    const exception = (code: number) => Buffer.from([fc | 0x80, code]);
    const forced = this.exceptions.get(unit);
    if (forced !== undefined) return exception(forced);
    const table = {
      1: 'coil',
      2: 'discrete',
      3: 'holding',
      4: 'input',
      5: 'coil',
      6: 'holding',
      15: 'coil',
      16: 'holding',
    }[fc];
    if (table === undefined) return exception(0x01);
    const limit = fc <= 2 ? 2000 : fc <= 4 ? 125 : fc === 15 ? 1968 : fc === 16 ? 123 : 1;
    if (count < 1 || count > limit) return exception(0x03);
    if (address + count > 65536) return exception(0x02);
    for (let a = address; a < address + count; a++) {
      if (this.illegal.has(`${unit}:${table}:${a}`)) return exception(0x02);
    }
    const m = this.unit(unit);
    switch (fc) {
      case 1:
      case 2: {
        const bits = fc === 1 ? m.coils : m.discrete;
        const bytes = Buffer.alloc(Math.ceil(count / 8));
        for (let i = 0; i < count; i++) {
          if (bits[address + i]) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (1 << (i & 7));
        }
        return Buffer.concat([Buffer.from([fc, bytes.length]), bytes]);
      }
      case 3:
      case 4: {
        const words = fc === 3 ? m.holding : m.input;
        const out = Buffer.alloc(2 + count * 2);
        out[0] = fc;
        out[1] = count * 2;
        for (let i = 0; i < count; i++) out.writeUInt16BE(words[address + i] ?? 0, 2 + i * 2);
        return out;
      }
      case 5: {
        const v = pdu.readUInt16BE(3);
        if (v !== 0xff00 && v !== 0x0000) return exception(0x03);
        m.coils[address] = v === 0xff00 ? 1 : 0;
        return Buffer.from(pdu.subarray(0, 5));
      }
      case 6:
        m.holding[address] = pdu.readUInt16BE(3);
        return Buffer.from(pdu.subarray(0, 5));
      case 15:
        for (let i = 0; i < count; i++)
          m.coils[address + i] = ((pdu[6 + (i >> 3)] ?? 0) >> (i & 7)) & 1;
        return Buffer.from(pdu.subarray(0, 5));
      default:
        for (let i = 0; i < count; i++) m.holding[address + i] = pdu.readUInt16BE(6 + i * 2);
        return Buffer.from(pdu.subarray(0, 5));
    }
  }
}

/** A Modbus TCP server on a loopback port, serving a {@link ModbusSlave}. */
export class ModbusTcpServer {
  readonly slave: ModbusSlave;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #port = 0;
  /** Connections accepted so far. */
  connections = 0;

  constructor(slave = new ModbusSlave()) {
    this.slave = slave;
  }

  get port(): number {
    return this.#port;
  }

  /** Listens on `port` (0: a free one the kernel picks). */
  async listen(port = 0): Promise<number> {
    const server = createServer((socket) => this.#serve(socket));
    server.listen({ host: '127.0.0.1', port });
    await once(server, 'listening');
    this.#server = server;
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    this.#port = address.port;
    return this.#port;
  }

  /** Stops listening and cuts every connection: the device is gone. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #serve(socket: Socket): void {
    this.connections++;
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // MBAP header: transaction id, protocol id (0), length (unit id + PDU), unit id.
      while (buffer.length >= 7) {
        const length = buffer.readUInt16BE(4);
        if (buffer.length < 6 + length) return;
        const transaction = buffer.readUInt16BE(0);
        const unit = buffer[6] ?? 0;
        const pdu = Buffer.from(buffer.subarray(7, 6 + length));
        buffer = buffer.subarray(6 + length);
        const answer = this.slave.handle(unit, pdu);
        if (answer === undefined) continue;
        const header = Buffer.alloc(7);
        header.writeUInt16BE(transaction, 0);
        header.writeUInt16BE(0, 2);
        header.writeUInt16BE(answer.length + 1, 4);
        header[6] = unit;
        socket.write(Buffer.concat([header, answer]));
      }
    });
  }
}

/**
 * A Modbus RTU slave on a serial device (one end of a pseudo-terminal pair). Request frames are
 * cut by their length, which the function code fixes (8 bytes for FC1-6; 9 + byte count for
 * FC15/FC16): no inter-frame timing needed on a pty.
 */
export class ModbusRtuSlave {
  readonly slave: ModbusSlave;
  readonly #input: ReadStream;
  readonly #output: WriteStream;
  /** Frames with a wrong CRC. */
  badFrames = 0;

  constructor(path: string, slave = new ModbusSlave()) {
    this.slave = slave;
    // One descriptor each way: two tty handles on one descriptor would both own it.
    this.#input = new ReadStream(openSync(path, 'r+'));
    this.#input.setRawMode(true);
    this.#output = new WriteStream(openSync(path, 'r+'));
    let buffer = Buffer.alloc(0);
    this.#input.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (buffer.length < 8) return;
        const fc = buffer[1] ?? 0;
        const size = fc === 15 || fc === 16 ? 9 + (buffer[6] ?? 0) : 8;
        if (buffer.length < size) return;
        const frame = buffer.subarray(0, size);
        buffer = buffer.subarray(size);
        const crc = frame.readUInt16LE(size - 2);
        if (crc !== crc16(frame.subarray(0, size - 2))) {
          this.badFrames++;
          continue;
        }
        const unit = frame[0] ?? 0;
        const answer = this.slave.handle(unit, Buffer.from(frame.subarray(1, size - 2)));
        if (answer === undefined) continue;
        const body = Buffer.concat([Buffer.from([unit]), answer]);
        const tail = Buffer.alloc(2);
        tail.writeUInt16LE(crc16(body));
        this.#output.write(Buffer.concat([body, tail]));
      }
    });
  }

  /** Closes the device. */
  close(): void {
    this.#input.destroy();
    this.#output.destroy();
  }
}

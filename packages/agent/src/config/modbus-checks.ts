/**
 * The checks across fields of `device.driver: modbus`: the link has what its transport needs,
 * every channel has a place on the device that suits its type, every group it names exists.
 * Run on the raw input, like the other cross-field checks, so one pass lists every problem.
 *
 * @module
 */

import { isIP } from 'node:net';
import { CHANNEL_TYPES, type ChannelType, isDigital, isOutput } from '../sources/channels.js';
import {
  isBitTable,
  isWritableTable,
  MODBUS_DATA_TYPES,
  MODBUS_FUNCTIONS,
  type ModbusDataType,
  widthOf,
} from '../sources/modbus-codec.js';
import { DEFAULT_GROUP } from '../sources/modbus-plan.js';
import type { ConfigIssue } from './errors.js';

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Raw => (isObj(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);

/** `an analog-input`, `a digital-output`. */
const article = (type: string): string => `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;

/** Why a channel of `type` cannot sit on `fn`, or undefined. */
function tableIssue(type: ChannelType, fn: (typeof MODBUS_FUNCTIONS)[number]): string | undefined {
  if (isOutput(type) && !isWritableTable(fn))
    return `${article(type)} must be a coil or a holding-register (${fn} is read-only)`;
  if (!isDigital(type) && isBitTable(fn))
    return `${article(type)} reads registers: input-register or holding-register`;
  if (type === 'analog-output' && fn !== 'holding-register')
    return 'an analog-output must be a holding-register';
  return undefined;
}

/** Why `dataType` does not suit a channel of `type` on `fn`, or undefined. */
function dataTypeIssue(
  type: ChannelType,
  fn: (typeof MODBUS_FUNCTIONS)[number],
  dataType: ModbusDataType,
): string | undefined {
  if (isBitTable(fn) && dataType !== 'bool') return `a ${fn} holds one bit: dataType must be bool`;
  if (type === 'counter' && dataType !== 'uint16' && dataType !== 'uint32')
    return 'a counter must be uint16 or uint32 (the register width it wraps at)';
  if (!isDigital(type) && dataType === 'bool') return `${article(type)} is a number, not bool`;
  return undefined;
}

/** The checks of `device.modbus` and of every channel's `modbus`, into `issues`. */
export function modbusIssues(device: Raw, issues: ConfigIssue[]): void {
  const modbusDriver = device.driver === 'modbus';
  const channels = Array.isArray(device.channels) ? device.channels : [];
  if (!modbusDriver) return;
  if (!isObj(device.modbus)) {
    issues.push({ path: 'device.modbus', message: 'required when driver is "modbus"' });
  }
  const m = obj(device.modbus);
  const transport = m.transport === 'rtu' ? 'rtu' : 'tcp';
  if (isObj(device.modbus)) {
    if (transport === 'tcp') {
      const host = str(m.host);
      if (host === undefined || host === '')
        issues.push({ path: 'device.modbus.host', message: 'required when transport is "tcp"' });
      else if (isIP(host) === 0 && /[\s/?#@\\[\]:%]/.test(host))
        issues.push({
          path: 'device.modbus.host',
          message: 'must be a host name or an IP address alone: no scheme, port (see port) or path',
        });
    } else {
      const path = str(m.path);
      if (path === undefined || path === '')
        issues.push({ path: 'device.modbus.path', message: 'required when transport is "rtu"' });
      if (m.dataBits === 7)
        issues.push({
          path: 'device.modbus.dataBits',
          message: 'Modbus RTU frames are 8 data bits (7 is Modbus ASCII)',
        });
    }
  }
  const reconnect = obj(m.reconnect);
  const min = int(reconnect.minDelayMs) ?? 1000;
  const max = int(reconnect.maxDelayMs) ?? 30000;
  if (min > max)
    issues.push({
      path: 'device.modbus.reconnect.maxDelayMs',
      message: `must be at least minDelayMs (${min})`,
    });
  const groups = new Map<string, number>();
  (Array.isArray(m.groups) ? m.groups : []).forEach((g, index) => {
    const name = str(obj(g).name);
    if (name === undefined) return;
    const at = `device.modbus.groups[${index}].name`;
    if (name === DEFAULT_GROUP)
      issues.push({ path: at, message: `"${DEFAULT_GROUP}" is the group of pollMs` });
    const first = groups.get(name);
    if (first !== undefined)
      issues.push({ path: at, message: `duplicate of device.modbus.groups[${first}]` });
    else groups.set(name, index);
  });

  channels.forEach((c, index) => {
    const ch = obj(c);
    const at = `device.channels[${index}].modbus`;
    if (!isObj(ch.modbus)) {
      issues.push({ path: at, message: 'required when device.driver is "modbus"' });
      return;
    }
    const point = ch.modbus;
    const type = CHANNEL_TYPES.find((t) => t === ch.type);
    const fn = MODBUS_FUNCTIONS.find((f) => f === point.function);
    if (type === undefined || fn === undefined) return;
    const table = tableIssue(type, fn);
    if (table !== undefined) {
      issues.push({ path: `${at}.function`, message: table });
      return;
    }
    const given = MODBUS_DATA_TYPES.find((d) => d === point.dataType);
    if (given !== undefined) {
      const why = dataTypeIssue(type, fn, given);
      if (why !== undefined) issues.push({ path: `${at}.dataType`, message: why });
    }
    const address = int(point.address);
    const width = widthOf(fn, given ?? (type === 'counter' ? 'uint32' : 'int16'));
    if (address !== undefined && address + width - 1 > 65535)
      issues.push({
        path: `${at}.address`,
        message: `a ${width}-register value at ${address} ends past 65535`,
      });
    const group = str(point.group);
    if (group !== undefined && group !== DEFAULT_GROUP && !groups.has(group))
      issues.push({ path: `${at}.group`, message: `no group "${group}" in device.modbus.groups` });
  });
}

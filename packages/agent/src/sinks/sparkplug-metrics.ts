/**
 * Channels as Sparkplug B metrics: datatype, name and alias, value, and the engineering unit and
 * range as properties; and the value a command metric carries.
 *
 * @module
 */

import type { ChannelValue } from '../formats/types.js';
import { type ChannelInfo, isDigital } from '../sources/channels.js';
import { DataType, type Metric, type Payload, type PropertyValue } from './sparkplug-payload.js';

/** The datatype, name, alias and value of one channel as a metric. */
export function channelMetric(
  channel: ChannelInfo,
  value: ChannelValue | undefined,
  timestamp: number,
  options: { readonly aliases: boolean; readonly analogType: DataType; readonly birth: boolean },
): Metric {
  const datatype = isDigital(channel.type) ? DataType.Boolean : options.analogType;
  // Births name every metric and give its alias; later messages use only the alias when
  // there is one [tck-id-payloads-alias-birth-requirement] [tck-id-payloads-alias-data-cmd-requirement].
  const id = options.birth
    ? { name: channel.name, ...(options.aliases ? { alias: channel.id } : {}) }
    : options.aliases
      ? { alias: channel.id }
      : { name: channel.name };
  // The datatype goes with the births only [tck-id-payloads-metric-datatype-not-req].
  const head = {
    ...id,
    timestamp,
    ...(options.birth ? { datatype, ...propertiesOf(channel, options.analogType) } : {}),
  };
  if (value === undefined) return { ...head, isNull: true };
  if (datatype === DataType.Boolean)
    return { ...head, booleanValue: typeof value === 'boolean' ? value : value !== 0 };
  const n = typeof value === 'number' ? value : value ? 1 : 0;
  return datatype === DataType.Float ? { ...head, floatValue: n } : { ...head, doubleValue: n };
}

/** The engineering unit and range as metric properties (the names Ignition reads). */
export function propertiesOf(
  channel: ChannelInfo,
  analogType: DataType,
): Pick<Metric, 'properties'> {
  const keys: string[] = [];
  const values: PropertyValue[] = [];
  if (channel.unit !== '') {
    keys.push('engUnit');
    values.push({ type: DataType.String, stringValue: channel.unit });
  }
  if (!isDigital(channel.type)) {
    const number = (n: number): PropertyValue =>
      analogType === DataType.Float
        ? { type: DataType.Float, floatValue: n }
        : { type: DataType.Double, doubleValue: n };
    keys.push('engLow', 'engHigh');
    values.push(number(channel.range.min), number(channel.range.max));
  }
  return keys.length === 0 ? {} : { properties: { keys, values } };
}

/** The value a command metric carries, whichever field it came in. */
export function commandValue(metric: Metric): ChannelValue | undefined {
  if (metric.booleanValue !== undefined) return metric.booleanValue;
  for (const v of [metric.doubleValue, metric.floatValue, metric.intValue, metric.longValue]) {
    if (v !== undefined) return v;
  }
  return undefined;
}

/** A short text of a payload's metrics for the log and the console: `seq 3 Valve=true`. */
export function describe(payload: Payload, names: ReadonlyMap<number, string>): string {
  const metrics = (payload.metrics ?? []).map((m) => {
    const name = m.name ?? (m.alias === undefined ? '?' : (names.get(m.alias) ?? `#${m.alias}`));
    const value = m.isNull === true ? 'null' : String(commandValue(m) ?? m.stringValue ?? '');
    return `${name}=${value}`;
  });
  return [payload.seq === undefined ? '' : `seq ${payload.seq}`, ...metrics]
    .filter((s) => s !== '')
    .join(' ');
}

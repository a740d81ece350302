/**
 * The ExoSense shapes the Murano connector reads and writes (ExoSense "Data IO Schema"):
 * `config_io` describing the channels, `data_in` / `data_out` objects keyed by channel
 * ("001"), and Murano's `$content` list.
 *
 * @module
 */

import type { MuranoResourceConfig } from '../config/schema.js';
import type { ChannelValue } from '../formats/types.js';
import { type ChannelInfo, isDigital } from '../sources/channels.js';

/** One entry of Murano's `$content` list. */
export interface MuranoContent {
  readonly name: string;
  readonly length: number;
  readonly mime: string;
  readonly url: string;
}

/** Most `$content` entries kept; the total is still logged. */
export const CONTENT_MAX = 256;

/**
 * A `$content` answer: at most {@link CONTENT_MAX} entries, each text field bounded, or a
 * string saying why it is not a list.
 */
export function parseContent(text: string): { items: MuranoContent[]; total: number } | string {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  if (!Array.isArray(list)) return 'is not a list';
  const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
  const items = list.slice(0, CONTENT_MAX).map((raw: unknown) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    return {
      name: str(e.name, 256),
      length: typeof e.length === 'number' ? e.length : 0,
      mime: str(e.mime, 128),
      url: str(e.url, 2048),
    };
  });
  return { items, total: list.length };
}

/** The `in` resources' values for one channel change: alias → `{"<key>": value}` as JSON. */
export function readingValues(
  resources: readonly MuranoResourceConfig[],
  id: number,
  value: ChannelValue,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const r of resources) {
    if (r.direction !== 'in') continue;
    const keys = Object.entries(r.channels).filter(([, channel]) => channel === id);
    if (keys.length === 0) continue;
    values[r.alias] = JSON.stringify(Object.fromEntries(keys.map(([k]) => [k, value])));
  }
  return values;
}

/** ExoSense's `config_io`: one entry per channel key of the `in` resources; none without. */
export function configIo(
  resources: readonly MuranoResourceConfig[],
  channelsById: ReadonlyMap<number, ChannelInfo>,
): string | undefined {
  const channels: Record<string, unknown> = {};
  for (const r of resources) {
    if (r.direction !== 'in') continue;
    for (const [key, id] of Object.entries(r.channels)) {
      const ch = channelsById.get(id);
      if (ch === undefined) continue;
      channels[key] = {
        display_name: ch.name,
        description: `${ch.name} (channel ${ch.id}, ${ch.type}${ch.unit === '' ? '' : `, ${ch.unit}`})`,
        properties: isDigital(ch.type)
          ? { data_type: 'BOOLEAN' }
          : { data_type: 'NUMBER', precision: 2 },
        protocol_config: { application: 'Courier', report_on_change: true },
      };
    }
  }
  if (Object.keys(channels).length === 0) return undefined;
  return JSON.stringify({ channels });
}

/** A pushed value as a channel value: booleans for digital channels, numbers otherwise. */
export function toValue(raw: unknown, digital: boolean): ChannelValue | undefined {
  if (digital) {
    if (typeof raw === 'boolean') return raw;
    if (raw === 1 || raw === '1' || raw === 'true') return true;
    if (raw === 0 || raw === '0' || raw === 'false') return false;
    return undefined;
  }
  const n =
    typeof raw === 'number'
      ? raw
      : typeof raw === 'string' && raw.trim() !== ''
        ? Number(raw)
        : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

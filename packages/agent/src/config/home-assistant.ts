/**
 * What the `homeassistant` section implies for the rest of the configuration: the node id and
 * where the agent says it is online or offline (its Will and birth message).
 *
 * @module
 */

import type { AgentConfig } from './schema.js';

/** Where the agent says it is online or offline (the Will and the birth message). */
export interface Availability {
  readonly topic: string;
  readonly online: string;
  readonly offline: string;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

/** Characters Home Assistant allows in a node id and a component id. */
const ID_CHARS = /[^a-zA-Z0-9_-]/g;

/** The node id: configured, else the client id (or device name) made safe. */
export function nodeIdOf(config: AgentConfig): string {
  const configured = config.homeassistant.nodeId;
  if (configured !== undefined) return configured;
  const base = config.connection.clientId !== '' ? config.connection.clientId : config.device.name;
  const safe = base.replace(ID_CHARS, '_').slice(0, 64);
  return safe === '' ? 'courier' : safe;
}

/**
 * The availability topic and words: the configured Will when there is one (its message is
 * "offline"), otherwise `<node_id>/availability` with a Will the agent adds itself.
 */
export function availabilityOf(config: AgentConfig): Availability {
  const ha = config.homeassistant;
  if (config.lwt.topic !== undefined) {
    return {
      topic: config.lwt.topic,
      online: ha.onlinePayload,
      offline: config.lwt.message,
      qos: config.lwt.qos as 0 | 1 | 2,
      retain: config.lwt.retain,
    };
  }
  return {
    topic: ha.availabilityTopic ?? `${nodeIdOf(config)}/availability`,
    online: ha.onlinePayload,
    offline: ha.offlinePayload,
    qos: 1,
    retain: true,
  };
}

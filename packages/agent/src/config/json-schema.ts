/**
 * The configuration schema as JSON Schema, for editors and the web console.
 *
 * @module
 */

import { z } from 'zod';
import { AgentConfigSchema } from './schema.js';

/** The id the published schema carries. */
export const CONFIG_SCHEMA_ID = 'https://courier.dev/schema/agent-config.json';

/**
 * The JSON Schema (draft 2020-12) of a configuration file as written (defaults optional).
 * Cross-field checks cannot be expressed in it; `parseConfig` remains the authority.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(AgentConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return { ...schema, $id: CONFIG_SCHEMA_ID, title: 'Courier device agent configuration' };
}

/** The JSON Schema as the text of `schema/config.schema.json`. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

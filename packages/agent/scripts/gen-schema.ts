// Writes packages/agent/schema/config.schema.json from the zod schema.
// Run: npm run schema -w courier-agent   (test/config.test.ts fails when the file is stale)
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchemaText } from '../src/config/json-schema.js';

const target = fileURLToPath(new URL('../schema/config.schema.json', import.meta.url));
writeFileSync(target, configJsonSchemaText());
console.log(`wrote ${target}`);

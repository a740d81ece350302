/**
 * The format section of a topic row, as a zod schema, and the factory that turns a validated
 * spec into a {@link Format}.
 *
 * @module
 */

import { z } from 'zod';
import { booleanFormat } from './boolean.js';
import { jsonFormat } from './json.js';
import { numberFormat } from './number.js';
import { parseTemplate, templateFormat } from './template.js';
import type { Format } from './types.js';
import { wccFormat } from './wcc.js';

const precision = z
  .int({ error: 'must be a whole number from 0 to 10' })
  .min(0, { error: 'must be a whole number from 0 to 10' })
  .max(10, { error: 'must be a whole number from 0 to 10' })
  .optional()
  .describe('Decimals after the point; omitted = as many as the value has.');

/** `{ "type": "number", "precision": 1 }`: `20.1`, or `20.1 °C` with `withUnit`. */
export const NumberFormatSpec = z
  .object({
    type: z.literal('number'),
    precision,
    withUnit: z.boolean().default(false).describe('Append the unit after a space.'),
    unit: z
      .string()
      .max(32, { error: 'must be at most 32 characters' })
      .optional()
      .describe("Unit to append instead of the channel's own."),
  })
  .strict();

/** A word of a boolean payload: 1 to 64 characters. */
const word = () =>
  z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(64, { error: 'must be at most 64 characters' });

/** `{ "type": "boolean", "on": "On", "off": "Off" }`. */
export const BooleanFormatSpec = z
  .object({
    type: z.literal('boolean'),
    on: word().default('On').describe('Word for on.'),
    off: word().default('Off').describe('Word for off.'),
    caseSensitive: z.boolean().default(false).describe('Compare received words case-sensitively.'),
  })
  .strict()
  .refine((f) => (f.caseSensitive ? f.on !== f.off : f.on.toLowerCase() !== f.off.toLowerCase()), {
    error: 'the words for on and off must differ',
    path: ['off'],
  });

/** `{ "type": "wcc" }`: WCC Lite's `value,timestamp_ms,quality`. */
export const WccFormatSpec = z.object({ type: z.literal('wcc'), precision }).strict();

/** `{ "type": "json" }`: `{"value":20.1,"ts":...,"unit":"°C"}`. */
export const JsonFormatSpec = z
  .object({
    type: z.literal('json'),
    precision,
    withUnit: z.boolean().default(true).describe('Include "unit" when the channel has one.'),
  })
  .strict();

/** `{ "type": "template", "template": "{value} {unit} at {iso}" }`. */
export const TemplateFormatSpec = z
  .object({
    type: z.literal('template'),
    template: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(1024, { error: 'must be at most 1024 characters' })
      .superRefine((t, ctx) => {
        const parts = parseTemplate(t);
        if (typeof parts === 'string') ctx.addIssue({ code: 'custom', message: parts });
      })
      .describe('Payload text with {value} {unit} {ts} {iso} {name} {channel} {quality}.'),
    precision,
  })
  .strict();

/** Any format spec, told apart by `type`. */
export const FormatSpec = z.discriminatedUnion(
  'type',
  [NumberFormatSpec, BooleanFormatSpec, WccFormatSpec, JsonFormatSpec, TemplateFormatSpec],
  { error: 'must be one of number, boolean, wcc, json, template' },
);

/** A validated format spec. */
export type FormatSpec = z.output<typeof FormatSpec>;

/** Builds the format a validated spec describes. */
export function createFormat(spec: FormatSpec): Format {
  switch (spec.type) {
    case 'number':
      return numberFormat(spec);
    case 'boolean':
      return booleanFormat(spec);
    case 'wcc':
      return wccFormat(spec);
    case 'json':
      return jsonFormat(spec);
    case 'template':
      return templateFormat(spec);
  }
}

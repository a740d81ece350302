/**
 * Payload formats: number, boolean words, WCC Lite CSV, JSON and templates.
 *
 * @module
 */

export { type BooleanFormatOptions, booleanFormat } from './boolean.js';
export { type JsonFormatOptions, jsonFormat } from './json.js';
export { type NumberFormatOptions, numberFormat } from './number.js';
export { createFormat, FormatSpec } from './spec.js';
export {
  parseTemplate,
  TEMPLATE_PLACEHOLDERS,
  type TemplateFormatOptions,
  type TemplatePlaceholder,
  templateFormat,
} from './template.js';
export type { ChannelValue, Format, FormatContext, ParsedSample, Sample } from './types.js';
export { type WccFormatOptions, wccFormat } from './wcc.js';

/**
 * The `template` format: any payload shape, e.g. `{value} {unit} at {iso}`.
 *
 * Placeholders: `{value}`, `{unit}`, `{ts}` (Unix ms), `{iso}` (ISO 8601 time), `{name}`
 * (channel or signal name), `{channel}` (channel id) and `{quality}`. `{{` and `}}` stand for
 * literal braces. Parsing works when the template holds exactly one `{value}`: the literal
 * parts must match, the other placeholders match anything.
 *
 * @module
 */

import { FormatError } from '../errors.js';
import { NUMBER_RE, numberKey, renderNumber } from './shared.js';
import type { ChannelValue, Format, FormatContext, ParsedSample, Sample } from './types.js';

/** The placeholders a template may use. */
export const TEMPLATE_PLACEHOLDERS = [
  'value',
  'unit',
  'ts',
  'iso',
  'name',
  'channel',
  'quality',
] as const;

/** A placeholder name. */
export type TemplatePlaceholder = (typeof TEMPLATE_PLACEHOLDERS)[number];

type Part = { readonly literal: string } | { readonly placeholder: TemplatePlaceholder };

/**
 * Splits a template into literal text and placeholders.
 * @returns the parts, or a string saying what is wrong with the template
 */
export function parseTemplate(template: string): Part[] | string {
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      literal += c;
      i++;
    } else if (c === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) return `unclosed "{" at character ${i}`;
      const name = template.slice(i + 1, end);
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name)) {
        return `unknown placeholder {${name}}; known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}`;
      }
      if (literal !== '') parts.push({ literal });
      literal = '';
      parts.push({ placeholder: name as TemplatePlaceholder });
      i = end;
    } else if (c === '}') {
      return `unmatched "}" at character ${i} (write "}}" for a literal brace)`;
    } else {
      literal += c;
    }
  }
  if (literal !== '') parts.push({ literal });
  return parts;
}

/** Options of the `template` format. */
export interface TemplateFormatOptions {
  /** The template text. */
  readonly template: string;
  /** Decimals after the point for `{value}`; none means as many as the value has. */
  readonly precision?: number | undefined;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Creates a `template` format.
 * @throws {FormatError} when the template itself is invalid (the schema checks this first)
 */
export function templateFormat(options: TemplateFormatOptions): Format {
  const parts = parseTemplate(options.template);
  if (typeof parts === 'string') throw new FormatError('template', options.template, parts);
  const { precision } = options;
  const valueCount = parts.filter((p) => 'placeholder' in p && p.placeholder === 'value').length;
  // The other placeholders match lazily so that the literal text around {value} anchors it.
  const matcher =
    valueCount === 1
      ? new RegExp(
          `^${parts
            .map((p) =>
              'literal' in p ? escapeRe(p.literal) : p.placeholder === 'value' ? '(.+?)' : '.*?',
            )
            .join('')}$`,
          's',
        )
      : undefined;
  return {
    type: 'template',
    render(sample: Sample, context: FormatContext): string {
      return parts
        .map((p) => {
          if ('literal' in p) return p.literal;
          switch (p.placeholder) {
            case 'value':
              return typeof sample.value === 'boolean'
                ? String(sample.value)
                : renderNumber(sample.value, precision);
            case 'unit':
              return context.unit;
            case 'ts':
              return String(Math.trunc(sample.ts));
            case 'iso':
              return new Date(sample.ts).toISOString();
            case 'name':
              return context.name;
            case 'channel':
              return String(context.channel);
            default:
              // 'quality', the last placeholder
              return String(sample.quality ?? 1);
          }
        })
        .join('');
    },
    key(value: ChannelValue): string {
      return numberKey(value, precision);
    },
    parse(payload: string): ParsedSample {
      if (matcher === undefined) {
        throw new FormatError(
          'template',
          payload,
          `cannot read a value back: the template must hold exactly one {value}, it holds ${valueCount}`,
        );
      }
      const m = matcher.exec(payload);
      if (m === null) {
        throw new FormatError(
          'template',
          payload,
          `does not match the template ${JSON.stringify(options.template)}`,
        );
      }
      const text = (m[1] ?? '').trim();
      const lower = text.toLowerCase();
      if (lower === 'true' || lower === 'on') return { value: true };
      if (lower === 'false' || lower === 'off') return { value: false };
      if (!NUMBER_RE.test(text)) {
        throw new FormatError(
          'template',
          payload,
          `{value} ${JSON.stringify(text)} is not a number or a boolean`,
        );
      }
      return { value: Number(text) };
    },
  };
}

/**
 * Topic checks for the configuration and the command-line tools, in words.
 *
 * The rules are the library's own validators (`courier-mqtt/topic`): a topic the agent
 * accepts is one the client will send. On top of them, {@link checkWireString} refuses what
 * has no UTF-8 form (a lone surrogate), so that whichever rules the library holds, nothing
 * passes here that fails on the wire.
 *
 * @module
 */

import { InvalidTopicError } from 'courier-mqtt';
import { validateTopicFilter, validateTopicName } from 'courier-mqtt/topic';
import { checkWireString } from './wire-string.js';

/** The reason of a library topic error, without the topic (which may be 64 KiB long). */
function reasonOf(error: unknown, topic: string): string {
  if (!(error instanceof InvalidTopicError)) throw error;
  const prefix = `invalid topic ${JSON.stringify(topic)}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

function check(topic: string, validate: (topic: string) => void): string | undefined {
  try {
    validate(topic);
  } catch (error) {
    return reasonOf(error, topic);
  }
  return checkWireString(topic, 'topic');
}

/**
 * Why `topic` is not a valid topic name (what a PUBLISH or a Will carries), or `undefined`
 * when it is: the library's `validateTopicName`, and a string UTF-8 can encode.
 */
export function checkTopicName(topic: string): string | undefined {
  return check(topic, validateTopicName);
}

/**
 * Why `filter` is not a valid topic filter (what a SUBSCRIBE carries), or `undefined` when
 * it is: the library's `validateTopicFilter`, and a string UTF-8 can encode.
 */
export function checkTopicFilter(filter: string): string | undefined {
  return check(filter, validateTopicFilter);
}

/**
 * Topic name and filter checks for the configuration, and the matcher the agent dispatches
 * received messages with.
 *
 * @module
 */

/**
 * Why `topic` is not a valid topic name, or `undefined` when it is.
 * [MQTT-4.7.3-1] at least one character; [MQTT-4.7.3-2] no U+0000; [MQTT-4.7.1-1] no
 * wildcard in a topic name; [MQTT-1.5.3-2] at most 65,535 bytes of UTF-8.
 */
export function checkTopicName(topic: string): string | undefined {
  if (topic.length === 0) return 'must not be empty';
  if (topic.includes('\u0000')) return 'must not contain the null character';
  if (topic.includes('+') || topic.includes('#')) {
    return 'a topic name cannot hold the wildcards + or #';
  }
  if (Buffer.byteLength(topic, 'utf8') > 65535) return 'is longer than 65535 bytes';
  return undefined;
}

/**
 * Why `filter` is not a valid topic filter, or `undefined` when it is.
 * [MQTT-4.7.1-2] `#` is last and alone in its level; [MQTT-4.7.1-3] `+` fills a whole level.
 */
export function checkTopicFilter(filter: string): string | undefined {
  if (filter.length === 0) return 'must not be empty';
  if (filter.includes('\u0000')) return 'must not contain the null character';
  if (Buffer.byteLength(filter, 'utf8') > 65535) return 'is longer than 65535 bytes';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return '# must be the last level and alone in it';
    }
    if (level.includes('+') && level !== '+') return '+ must fill a whole level';
  }
  return undefined;
}

/**
 * Whether `topic` matches `filter`. [MQTT-4.7.2-1] a filter starting with a wildcard does not
 * match topic names starting with `$`.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // also matches the parent level [MQTT-4.7.1-2]
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

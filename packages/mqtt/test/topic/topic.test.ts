import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidTopicError } from '../../src/errors.js';
import {
  isValidTopicFilter,
  isValidTopicName,
  matchingFilter,
  parseSharedFilter,
  TopicTrie,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from '../../src/topic/index.js';

// [filter, topic, matches]
const table: [string, string, boolean][] = [
  // The seeds' examples (the MQTT course).
  ['myhome/firstFloor/+/temperature', 'myhome/firstFloor/Kitchen/temperature', true],
  ['myhome/firstFloor/+/temperature', 'myhome/firstFloor/Kitchen/humidity', false],
  ['myhome/firstFloor/+/temperature', 'myhome/secondFloor/Kitchen/temperature', false],
  ['myhome/+/+/temperature', 'myhome/firstFloor/Kitchen/temperature', true],
  ['myhome/+/+/temperature', 'myhome/cellar/Boiler/temperature', true],
  ['myhome/firstFloor/Kitchen/#', 'myhome/firstFloor/Kitchen/temperature', true],
  ['myhome/firstFloor/Kitchen/#', 'myhome/firstFloor/Kitchen', true],
  ['myhome/firstFloor/#', 'myhome/firstFloor/Kitchen/humidity', true],
  ['myhome/firstFloor/#', 'myhome/firstfloor/Kitchen/humidity', false], // case-sensitive
  ['myhome/firstfloor/+/temperature', 'myhome/firstFloor/Kitchen/temperature', false],
  ['/', '/', true],
  ['#', '/', true],
  ['+', '/', false],
  ['+/+', '/', true],
  ['PV/sunshine', 'PV/sunshine', true],
  ['PV/sunshine', 'PV/Sunshine', false],
  ['living room/+', 'living room/lamp', true], // spaces are permitted
  // The spec's family (§4.7.1.2, §4.7.1.3).
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true],
  ['#', 'sport/tennis', true],
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player2', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+/tennis/#', 'sport/tennis/player1', true],
  // [MQTT-4.7.2-1] `$` topics and wildcards at the first level.
  ['#', '$SYS/broker/uptime', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['$SYS/#', '$SYS/broker/uptime', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  ['+/+', '$SYS/x', false],
];

for (const [filter, topic, expected] of table) {
  test(`${JSON.stringify(filter)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
    assert.equal(topicMatches(filter, topic), expected);
    const trie = new TopicTrie<string>();
    trie.add(filter, 'x');
    assert.deepEqual(trie.match(topic), expected ? ['x'] : []);
  });
}

test('topic name validation', () => {
  for (const ok of [
    'a',
    '/',
    'a/b',
    'myhome/firstFloor/Kitchen/temperature',
    ' ',
    'temp/°C',
    '$SYS/x',
  ]) {
    assert.doesNotThrow(() => validateTopicName(ok), ok);
  }
  const bad: [string, string][] = [
    ['', 'MQTT-4.7.3-1'],
    ['a/+', 'MQTT-4.7.1-1'],
    ['a/#', 'MQTT-4.7.1-1'],
    ['a\u0000', 'MQTT-4.7.3-2'],
    ['é'.repeat(40000), 'MQTT-4.7.3-3'],
  ];
  for (const [name, rule] of bad) {
    assert.throws(
      () => validateTopicName(name),
      (e: unknown) => e instanceof InvalidTopicError && e.rule === rule,
    );
    assert.equal(isValidTopicName(name), false);
  }
});

test('topic filter validation', () => {
  for (const ok of ['#', '+', '+/+', 'a/#', '/+', 'a/+/b', 'sport/tennis/#', '$SYS/#']) {
    assert.doesNotThrow(() => validateTopicFilter(ok), ok);
    assert.equal(isValidTopicFilter(ok), true);
  }
  const bad: [string, string][] = [
    ['', 'MQTT-4.7.3-1'],
    ['a/#/b', 'MQTT-4.7.1-2'],
    ['a#', 'MQTT-4.7.1-2'],
    ['sport/tennis#', 'MQTT-4.7.1-2'],
    ['a+', 'MQTT-4.7.1-3'],
    ['sport+', 'MQTT-4.7.1-3'],
    ['a/+b/c', 'MQTT-4.7.1-3'],
  ];
  for (const [filter, rule] of bad) {
    assert.throws(
      () => validateTopicFilter(filter),
      (e: unknown) =>
        e instanceof InvalidTopicError &&
        e.rule === rule &&
        e.message.includes(JSON.stringify(filter)),
    );
  }
});

test('trie: each value at most once, removal, size', () => {
  const trie = new TopicTrie<string>();
  trie.add('a/#', 's1');
  trie.add('a/+', 's1');
  trie.add('a/b', 's2');
  trie.add('#', 's3');
  assert.equal(trie.size, 4);
  assert.deepEqual(trie.match('a/b').sort(), ['s1', 's2', 's3']);
  assert.equal(trie.remove('a/#', 's1'), true);
  assert.equal(trie.remove('a/#', 's1'), false);
  assert.deepEqual(trie.match('a/b').sort(), ['s1', 's2', 's3']); // still via a/+
  assert.equal(trie.remove('a/+', 's1'), true);
  assert.deepEqual(trie.match('a/b').sort(), ['s2', 's3']);
  trie.clear();
  assert.equal(trie.size, 0);
  assert.deepEqual(trie.match('a/b'), []);
});

const level = fc.constantFrom('a', 'b', 'c', '', '$x', 'd e', 'ab', 'A');
const topicArb = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
  .filter((f) => f.length > 0);

test('property: the trie agrees with topicMatches', () => {
  fc.assert(
    fc.property(fc.uniqueArray(filterArb, { maxLength: 12 }), topicArb, (filters, topic) => {
      const trie = new TopicTrie<string>();
      for (const f of filters) trie.add(f, f);
      const expected = filters.filter((f) => topicMatches(f, topic)).sort();
      assert.deepEqual(trie.match(topic).sort(), expected);
    }),
    { numRuns: 3000 },
  );
});

test('property: after adds and removals, plain and wildcard filters mixed, the trie still agrees', () => {
  const values = fc.constantFrom('v1', 'v2', 'v3');
  const op = fc.tuple(fc.boolean(), filterArb, values);
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), topicArb, (ops, topic) => {
      const trie = new TopicTrie<string>();
      const model = new Set<string>(); // filter NUL value
      for (const [add, filter, value] of ops) {
        const key = `${filter}\u0000${value}`;
        if (add) {
          trie.add(filter, value);
          model.add(key);
        } else {
          assert.equal(trie.remove(filter, value), model.delete(key));
        }
      }
      assert.equal(trie.size, model.size);
      const expected = new Set<string>();
      for (const key of model) {
        const [filter, value] = key.split('\u0000') as [string, string];
        if (topicMatches(filter, topic)) expected.add(value);
      }
      assert.deepEqual(trie.match(topic).sort(), [...expected].sort());
    }),
    { numRuns: 2000 },
  );
});

/**
 * A deliberately naive model of §4.7, written from the spec text: split both into levels and
 * compare level by level. The real matcher walks the strings without splitting them.
 */
function modelMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '#' || f[0] === '+')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

test('property: topicMatches agrees with a level-splitting model of the spec', () => {
  fc.assert(
    fc.property(filterArb, topicArb, (filter, topic) => {
      assert.equal(topicMatches(filter, topic), modelMatches(filter, topic));
    }),
    { numRuns: 5000 },
  );
});

test('trie: an invalid filter is refused instead of being stored as another filter', () => {
  const trie = new TopicTrie<number>();
  for (const [filter, rule] of [
    ['a/#/b', 'MQTT-4.7.1-2'],
    ['a+', 'MQTT-4.7.1-3'],
    ['', 'MQTT-4.7.3-1'],
  ] as const) {
    assert.throws(
      () => trie.add(filter, 1),
      (e: unknown) => e instanceof InvalidTopicError && e.rule === rule,
    );
  }
  assert.equal(trie.size, 0);
});

test('trie: removing the last value prunes the branch, siblings stay', () => {
  const trie = new TopicTrie<string>();
  trie.add('a/b/c', 'x');
  trie.add('a/b', 'y');
  assert.equal(trie.remove('a/b/c', 'x'), true);
  assert.deepEqual(trie.match('a/b/c'), []);
  assert.deepEqual(trie.match('a/b'), ['y']);
  assert.equal(trie.remove('a/b/c', 'y'), false);
  assert.equal(trie.size, 1);
});

test('a lone UTF-16 surrogate is refused in topic names and filters [MQTT-1.5.3-1]', () => {
  for (const bad of ['a\ud800b', 'a/\udc00', '\ud83d', 'x/\udc00\ud800']) {
    for (const validate of [validateTopicName, validateTopicFilter]) {
      assert.throws(
        () => validate(bad),
        (e: unknown) => e instanceof InvalidTopicError && e.rule === 'MQTT-1.5.3-1',
        JSON.stringify(bad),
      );
    }
    assert.equal(isValidTopicName(bad), false);
    assert.equal(isValidTopicFilter(bad), false);
  }
  // A surrogate pair is one well-formed character (U+1F600).
  validateTopicName('emoji/\ud83d\ude00');
  validateTopicFilter('emoji/\ud83d\ude00/#');
});

test('shared subscriptions: $share/<group>/<filter> (MQTT 5.0 §4.8.2)', () => {
  for (const good of ['$share/g/a/b', '$share/group-1/#', '$share/g/+/x', '$share/g/$SYS/#']) {
    validateTopicFilter(good);
  }
  const bad: [string, string][] = [
    ['$share', 'MQTT-4.8.2-1'],
    ['$share/', 'MQTT-4.8.2-1'],
    ['$share//a', 'MQTT-4.8.2-1'],
    ['$share/g', 'MQTT-4.8.2-2'],
    ['$share/g/', 'MQTT-4.8.2-2'],
    ['$share/g+/a', 'MQTT-4.8.2-2'],
    ['$share/#/a', 'MQTT-4.8.2-2'],
    ['$share/+/a', 'MQTT-4.8.2-2'],
    ['$share/g/a/#/b', 'MQTT-4.7.1-2'],
    ['$share/g/a+', 'MQTT-4.7.1-3'],
  ];
  for (const [filter, rule] of bad) {
    assert.throws(
      () => validateTopicFilter(filter),
      (e: unknown) => e instanceof InvalidTopicError && e.rule === rule && e.topic === filter,
      filter,
    );
  }
  // Not shared: `$sharex/...` and `$shared` are ordinary filters.
  validateTopicFilter('$sharex/a');
  assert.equal(parseSharedFilter('$sharex/a'), undefined);
  assert.deepEqual(parseSharedFilter('$share/g/a/+'), { group: 'g', filter: 'a/+' });
  assert.equal(matchingFilter('$share/g/a/+'), 'a/+');
  assert.equal(matchingFilter('a/+'), 'a/+');
});

test('shared subscriptions match and dispatch on their filter part', () => {
  assert.equal(topicMatches('$share/g/a/+', 'a/b'), true);
  assert.equal(topicMatches('$share/g/#', 'a/b'), true);
  assert.equal(topicMatches('$share/g/#', '$SYS/x'), false);
  assert.equal(topicMatches('$share/g/a/+', '$share/g/a/b'), false);
  const trie = new TopicTrie<string>();
  trie.add('$share/g/a/+', 'shared');
  trie.add('a/b', 'plain');
  assert.deepEqual(trie.match('a/b').sort(), ['plain', 'shared']);
  assert.deepEqual(trie.match('$share/g/a/b'), []);
  assert.equal(trie.remove('$share/g/a/+', 'shared'), true);
  assert.deepEqual(trie.match('a/b'), ['plain']);
});

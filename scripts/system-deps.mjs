#!/usr/bin/env node
// The system programs the tests need, in one list: `npm test` (scripts/run-tests.mjs) checks
// them before it builds or runs anything, and CI relies on that same check.
//
// Missing packages are installed with apt-get when that can work unattended (root, apt-get on
// the machine); otherwise the exact packages and the apt-get command are printed and the run
// stops, so that no test is cancelled half-way for want of a program.
//
// `node scripts/system-deps.mjs` runs the check (and the install) on its own.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the tests need. `command`: an executable on PATH or in /usr/sbin, /usr/bin, /sbin
 * (the directories test/helpers/process.ts `findBinary` looks in too: Debian installs
 * mosquitto in /usr/sbin, which is not on every PATH). `file`: an absolute path.
 */
export const REQUIREMENTS = [
  { command: 'mosquitto', package: 'mosquitto', why: 'the broker the integration tests start' },
  { command: 'mosquitto_passwd', package: 'mosquitto', why: 'password files for Mosquitto' },
  { command: 'mosquitto_pub', package: 'mosquitto-clients', why: 'courier pub/sub vs mosquitto' },
  { command: 'mosquitto_sub', package: 'mosquitto-clients', why: 'courier pub/sub vs mosquitto' },
  { command: 'stdbuf', package: 'coreutils', why: "mosquitto_sub's lines as they come" },
  { command: 'redis-server', package: 'redis-server', why: 'the Redis bridge tests' },
  { command: 'openssl', package: 'openssl', why: 'test certificates and PSK keys' },
  { command: 'socat', package: 'socat', why: 'the pseudo-terminal pair of the Modbus RTU test' },
  { command: 'nats-server', package: 'nats-server', why: 'a broker without QoS 2 (NATS MQTT)' },
  {
    file: '/usr/lib/rabbitmq/bin/rabbitmq-server',
    package: 'rabbitmq-server',
    why: 'a broker that downgrades QoS 2 (RabbitMQ MQTT)',
  },
  { command: 'epmd', package: 'erlang-base', why: "RabbitMQ's own Erlang port mapper" },
  { file: '/usr/bin/chromium', package: 'chromium', why: 'the console browser tests' },
  {
    file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
    package: 'fonts-dejavu-core',
    why: 'text in the console screenshots',
  },
  {
    file: '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
    package: 'fonts-liberation',
    why: 'text in the console screenshots',
  },
];

/** Directories searched after PATH, relative to the file-system root. */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin'];

function isExecutableFile(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Finds `name` on `path` (a PATH string) or in /usr/sbin, /usr/bin, /sbin under `root`.
 * @returns the full path, or undefined
 */
export function findCommand(name, { path = process.env.PATH ?? '', root = '/' } = {}) {
  const dirs = [...path.split(delimiter), ...EXTRA_DIRS.map((d) => join(root, d))];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The requirements not met on this machine. `path` and `root` exist for tests: a fake PATH
 * and a directory standing in for `/`.
 * @returns the unmet requirements, in {@link REQUIREMENTS} order
 */
export function findMissing({ path = process.env.PATH ?? '', root = '/' } = {}) {
  return REQUIREMENTS.filter((r) =>
    r.command !== undefined
      ? findCommand(r.command, { path, root }) === undefined
      : !(r.file.startsWith('/usr/bin/')
          ? isExecutableFile(join(root, r.file))
          : existsSync(join(root, r.file))),
  );
}

/** The Debian packages of `missing`, each once, in order. */
export function packagesOf(missing) {
  return [...new Set(missing.map((r) => r.package))];
}

/** The apt-get arguments that install `packages`. */
function installArgs(packages) {
  return ['install', '-y', '--no-install-recommends', ...packages];
}

/** The command that installs `packages`, as a user would type it. */
export function installCommand(packages) {
  return ['apt-get', ...installArgs(packages)].join(' ');
}

/** Whether the missing packages can be installed unattended: root, and apt-get present. */
export function canInstall({ uid = process.getuid?.(), path, root } = {}) {
  return uid === 0 && findCommand('apt-get', { path, root }) !== undefined;
}

/** What to tell a user who has to install `missing` themselves. */
export function report(missing) {
  const lines = ['The tests need programs this machine lacks:'];
  for (const r of missing) lines.push(`  ${r.command ?? r.file}  (${r.package}: ${r.why})`);
  const packages = packagesOf(missing);
  lines.push(
    '',
    `Missing Debian packages: ${packages.join(' ')}`,
    'Install them (as root), then run the tests again:',
    '',
    `  apt-get update && ${installCommand(packages)}`,
    '',
  );
  return lines.join('\n');
}

function run(args) {
  console.error(`+ ${args.join(' ')}`);
  const result = spawnSync(args[0], args.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return result.status === 0;
}

/**
 * Checks the requirements and installs what is missing when it can.
 * @returns true when everything the tests need is present
 */
export function ensureSystemDeps() {
  let missing = findMissing();
  if (missing.length === 0) return true;
  const aptGet = findCommand('apt-get');
  if (canInstall()) {
    const packages = packagesOf(missing);
    console.error(`Installing what the tests need: ${packages.join(' ')}`);
    if (run([aptGet, 'update', '-qq']) && run([aptGet, ...installArgs(packages), '-qq'])) {
      missing = findMissing();
      if (missing.length === 0) return true;
    }
  }
  console.error(report(missing));
  return false;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exit(ensureSystemDeps() ? 0 : 1);
}

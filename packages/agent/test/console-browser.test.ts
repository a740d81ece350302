// The web console in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
// against the agent on a real Mosquitto: log in, set up the connection, change a row's
// interval and see it on the broker, watch Valve follow `courier pub`, see a refused QoS next
// to its field, and keep a screenshot of every section at desktop and phone width in
// artifacts/console/ (CI keeps that folder).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createClient as createRedisClient } from 'redis';
import { startAzureIotHubEmulator } from '../../../test/helpers/azure-iot-hub.js';
import { testCerts, tlsListenerLines } from '../../../test/helpers/certs.js';
import { startMuranoEmulator } from '../../../test/helpers/murano-emulator.js';
import { startRedis } from '../../../test/helpers/redis.js';
import {
  ADMIN_PASSWORD,
  MQTT_PASSWORD,
  observeFixture,
  startConsoleFixture,
} from './console-util.js';
import { ManualScheduler } from './manual-scheduler.js';
import { ROOT, runCli, waitFor } from './util.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(ROOT, 'artifacts', 'console');
const SECTIONS = [
  'state',
  'connection',
  'options',
  'lwt',
  'login',
  'security',
  'topics',
  'device',
  'redis',
  'murano',
  'admin',
];
const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

let browser: Browser;

/** What a page function reads of `document` (the tests compile without the DOM library). */
interface ParentNodeLike {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  // Playwright gives every launch a new, empty --user-data-dir of its own and removes it after.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
});

async function openPage(
  t: TestContext,
  url: string,
  viewport: { width: number; height: number } = VIEWPORTS.desktop,
): Promise<Page> {
  const context = await browser.newContext({ viewport });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // Script errors fail the test. Chromium also logs every answer that is not 2xx ("Failed to
  // load resource"): a 422 for a refused QoS, a 401 before login, the event stream when the
  // fixture stops first; those are the API working, not the page failing.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      errors.push(m.text());
  });
  t.after(() => assert.deepEqual(errors, [], 'errors in the page'));
  await page.goto(`${url}/`);
  return page;
}

async function logIn(page: Page, password = ADMIN_PASSWORD): Promise<void> {
  await page.locator('input#password').fill(password);
  await page.locator('button[data-testid=login]').click();
  await page.locator('[data-testid=module-state]').waitFor();
}

/** Presses Save in `section` and waits for "Saved". */
async function saveSection(page: Page, section: string): Promise<void> {
  await page.locator(`section#${section} button[data-testid=save]`).click();
  await page
    .locator(`section#${section} [data-testid=save-status]`)
    .filter({ hasText: /Saved/ })
    .waitFor();
}

/** A desktop page, logged in. */
async function loggedInPage(t: TestContext, url: string): Promise<Page> {
  const page = await openPage(t, url);
  await logIn(page);
  return page;
}

async function go(page: Page, section: string): Promise<void> {
  await page.locator(`a[href="#/${section}"]`).first().click();
  await page.locator(`section#${section}`).waitFor();
}

describe('web console in Chromium', () => {
  it('refuses a wrong password, then logs in and shows the module state', async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await openPage(t, fx.web.url);
    await page.locator('input#password').fill('not the password');
    await page.locator('button[data-testid=login]').click();
    await page
      .locator('[data-testid=login-error]')
      .filter({ hasText: /wrong password/i })
      .waitFor();
    await logIn(page);
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECTED$/ })
      .waitFor();
    // The session cookie is out of the page's reach (HttpOnly).
    assert.equal(await page.evaluate('document.cookie'), '');
  });

  it('sets up the connection from the browser: a wrong port, then the right one', async (t) => {
    const fx = await startConsoleFixture(t);
    // Point the agent at a port where nobody listens, as a fresh device would be.
    const wrong = await fx.agent.applyConfig({
      ...fx.agent.config,
      connection: { ...fx.agent.config.connection, port: 1 },
    });
    assert.equal(wrong.ok, true);
    const page = await loggedInPage(t, fx.web.url);
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECT_PND$/ })
      .waitFor();
    await go(page, 'connection');
    await page.locator('input[name="connection.port"]').fill(String(fx.broker.port));
    await saveSection(page, 'connection');
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECTED$/ })
      .waitFor({
        timeout: 15000,
      });
    assert.equal(fx.agent.config.connection.port, fx.broker.port);
  });

  it('sets up mutual TLS from the browser: uploads CA, certificate and key, then reconnects over TLS', async (t) => {
    const certs = await testCerts();
    const fx = await startConsoleFixture(t, {
      broker: {
        listeners: [{}, { lines: [...tlsListenerLines(certs), 'require_certificate true'] }],
      },
    });
    const tlsPort = fx.broker.ports[1] as number;
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'security');
    await page.locator('select[name="security.authMode"]').selectOption('server+client');
    const files = [
      ['ca', certs.ca.cert],
      ['cert', certs.client.cert],
      ['key', certs.client.key],
    ] as const;
    for (const [kind, pem] of files) {
      await page.locator(`input[type=file][data-testid=upload-${kind}]`).setInputFiles({
        name: `${kind}.pem`,
        mimeType: 'application/x-pem-file',
        buffer: Buffer.from(pem),
      });
      await page
        .locator(`[data-testid=upload-status-${kind}]`)
        .filter({ hasText: /Uploaded/ })
        .waitFor();
      assert.match(
        await page.locator(`input[name="security.${kind}"]`).inputValue(),
        new RegExp(`/tls/${kind}-[0-9a-f]{16}\\.pem$`),
      );
    }
    await go(page, 'connection');
    await page.locator('input[name="connection.port"]').fill(String(tlsPort));
    await page.locator('input[name="connection.endpointName"]').fill('localhost');
    await saveSection(page, 'connection');
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECTED$/ })
      .waitFor({
        timeout: 15000,
      });
    assert.equal(fx.agent.config.security.authMode, 'server+client');
    assert.equal(fx.agent.snapshot().server, `mqtts://127.0.0.1:${tlsPort}`);
    for (const kind of ['ca', 'cert', 'key'] as const) {
      const path = fx.agent.config.security[kind] as string;
      assert.ok(path.startsWith(join(fx.dataDir, 'tls')), path);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    }
    // The page never received the key: its text is nowhere in the DOM.
    const keyLine = certs.client.key.split('\n')[1] as string;
    assert.ok(!(await page.content()).includes(keyLine));
    await go(page, 'security');
    await page.screenshot({ path: join(SHOTS, 'security-tls-desktop.png'), fullPage: true });
  });

  it('configures a TLS backup server from the browser, CA uploaded there, and the agent fails over to it', async (t) => {
    const certs = await testCerts();
    const fx = await startConsoleFixture(t, {
      broker: { listeners: [{}, { lines: tlsListenerLines(certs) }] },
    });
    const tlsPort = fx.broker.ports[1] as number;
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'connection');
    // The primary becomes unreachable; the backup is the real broker's TLS listener.
    await page.locator('input[name="connection.port"]').fill('1');
    await page.locator('[data-testid=backup-toggle]').check();
    await page.locator('input[name="backup.connection.server"]').fill(fx.broker.host);
    await page.locator('input[name="backup.connection.port"]').fill(String(tlsPort));
    await page.locator('input[name="backup.connection.endpointName"]').fill('localhost');
    await page.locator('select[name="backup.security.authMode"]').selectOption('server');
    await page.locator('input[type=file][data-testid=upload-backup-ca]').setInputFiles({
      name: 'ca.pem',
      mimeType: 'application/x-pem-file',
      buffer: Buffer.from(certs.ca.cert),
    });
    await page
      .locator('[data-testid=upload-status-backup-ca]')
      .filter({ hasText: /Uploaded/ })
      .waitFor();
    assert.match(
      await page.locator('input[name="backup.security.ca"]').inputValue(),
      /\/tls\/ca-[0-9a-f]{16}\.pem$/,
    );
    // The primary's security is untouched by the backup's upload.
    assert.equal(await page.locator('input[name="security.ca"]').count(), 0);
    await page.locator('input[name="backup.login.username"]').fill('device');
    await page.locator('input[name="backup.login.password"]').fill(MQTT_PASSWORD);
    await saveSection(page, 'connection');
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECTED$/ })
      .waitFor({
        timeout: 20000,
      });
    assert.equal(fx.agent.snapshot().server, `mqtts://${fx.broker.host}:${tlsPort}`);
    assert.equal(fx.agent.config.connection.port, 1);
    assert.equal(fx.agent.config.security.authMode, 'none');
    assert.equal(fx.agent.config.security.ca, undefined);
    const ca = fx.agent.config.backup?.security.ca as string;
    assert.ok(ca.startsWith(join(fx.dataDir, 'tls')), ca);
    assert.equal(fx.agent.config.backup?.login.password, MQTT_PASSWORD);
    // The password typed is saved, and the page shows only that it is set.
    assert.equal(await page.locator('input[name="backup.login.password"]').inputValue(), '');
    assert.equal(
      await page.locator('input[name="backup.login.password"]').getAttribute('placeholder'),
      'unchanged',
    );
    // After a reload, the backup's card describes the CA the agent uses.
    await page.reload();
    await go(page, 'connection');
    await page.locator('.file-card dd', { hasText: /CN=/ }).first().waitFor();
    await page.screenshot({
      path: join(SHOTS, 'connection-backup-tls-desktop.png'),
      fullPage: true,
    });
  });

  it('maps a Redis signal to MQTT set up from the browser (WCC Lite Devices and Signals)', async (t) => {
    const fx = await startConsoleFixture(t);
    const redis = await startRedis(t);
    const seen = await observeFixture(t, fx, 'tag/#', 1);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'redis');
    await page.locator('input[name="redis.enabled"]').check();
    await page.locator('input[name="redis.url"]').fill(redis.url);
    await page.locator('[data-testid=add-device]').click();
    await page.locator('input[name="redis.devices[0].deviceAlias"]').fill('mqtt1');
    await page.locator('[data-testid=add-signal]').click();
    await page.locator('select[name="redis.signals[0].deviceAlias"]').selectOption('mqtt1');
    await page.locator('input[name="redis.signals[0].signalAlias"]').fill('temp');
    await page.locator('input[name="redis.signals[0].sourceDeviceAlias"]').fill('iec104_1');
    await page.locator('input[name="redis.signals[0].sourceSignalAlias"]').fill('tr1_temp');
    await saveSection(page, 'redis');
    await fx.agent.whenRedisSubscribed();
    const pub = createRedisClient({ url: redis.url });
    await pub.connect();
    await pub.publish('tag/iec104_1/tr1_temp/in', `21.5,${Date.now()},`);
    pub.destroy();
    await waitFor(
      () => seen.some((m) => m.topic === 'tag/iec104_1/tr1_temp/in'),
      'the signal on MQTT',
      5000,
    );
    assert.equal(fx.agent.state, 'CONNECTED');
  });

  it('adds an analog channel on the Device page and publishes it from a new topic row; a duplicate id and the channel limit show where they belong', async (t) => {
    const fx = await startConsoleFixture(t);
    const seen = await observeFixture(t, fx, 'Supply', 0);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'device');
    await page.locator('[data-testid=add-channel]').click();
    // The LucidIoT module has ids 0 to 15: the next free one is offered.
    assert.equal(await page.locator('input[name="device.channels[16].id"]').inputValue(), '16');
    await page.locator('input[name="device.channels[16].name"]').fill('Supply');
    await page.locator('select[name="device.channels[16].type"]').selectOption('analog-input');
    await page.locator('select[name="device.channels[16].signal"]').selectOption('4-20mA');
    // A duplicate id is refused next to its field, the 17th channel next to the table (the
    // default limit is 16), and nothing is applied.
    await page.locator('input[name="device.channels[16].id"]').fill('8');
    await page.locator('section#device button[data-testid=save]').click();
    await page
      .locator('[data-error-for="device.channels[16].id"]')
      .filter({ hasText: 'duplicate id 8 (also device.channels[8])' })
      .waitFor();
    await page
      .locator('[data-error-for="device.channels"]')
      .filter({ hasText: 'at most 16 channels are allowed (limits.channels)' })
      .waitFor();
    assert.equal(await page.locator('[data-testid=other-issues]').count(), 0);
    assert.equal(fx.agent.config.device.channels.length, 16);
    // A larger limit makes room, and the new channel gets an id of its own.
    await page.locator('input[name="limits.channels"]').fill('17');
    await page.locator('input[name="device.channels[16].id"]').fill('16');
    await saveSection(page, 'device');
    await page
      .locator('[data-testid=module-state]')
      .filter({ hasText: /^CONNECTED$/ })
      .waitFor({ timeout: 15000 });
    assert.equal(fx.agent.config.limits.channels, 17);
    assert.deepEqual(fx.agent.config.device.channels[16], {
      id: 16,
      name: 'Supply',
      type: 'analog-input',
      signal: '4-20mA',
    });
    const supply = fx.agent.snapshot().channels.find((c) => c.id === 16);
    assert.equal(supply?.unit, 'mA');
    assert.deepEqual(supply?.range, { min: 4, max: 20 });
    // The new channel in the topic table, then on the broker.
    await go(page, 'topics');
    await page.locator('[data-testid=add-topic]').click();
    await page.locator('input[name="topics[3].topic"]').fill('Supply');
    await page.locator('select[name="topics[3].channel"]').selectOption('16');
    await page.locator('input[name="topics[3].pubIntervalMs"]').fill('100');
    await saveSection(page, 'topics');
    await waitFor(() => seen.length >= 2, 'Supply on the broker', 10000);
    for (const m of seen) {
      const value = Number(m.payload);
      assert.ok(value >= 4 && value <= 20, `Supply ${m.payload} mA is within 4..20`);
    }
  });

  it('changes the publish interval of a topic row and the broker sees the new interval', async (t) => {
    // The publish timers run on a manual scheduler: the period is read, and time moved on by
    // the test, so a loaded machine cannot change what the broker sees.
    const scheduler = new ManualScheduler();
    const fx = await startConsoleFixture(t, { scheduler });
    const row = () => fx.agent.snapshot().rows.find((r) => r.topic === 'OfficeTemp');
    // The first OfficeTemp has completed its flow before the observer subscribes: it sees
    // only what the new table sends.
    await waitFor(() => row()?.published === 1, 'the first OfficeTemp');
    const seen = await observeFixture(t, fx, 'OfficeTemp', 0);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'topics');
    const field = page.locator('input[name="topics[1].pubIntervalMs"]');
    assert.equal(await field.inputValue(), '1000');
    assert.deepEqual(scheduler.periods(), [250, 1000]);
    await field.fill('200');
    await saveSection(page, 'topics');
    assert.equal(fx.agent.config.topics[1]?.pubIntervalMs, 200);
    // The row's timer now runs every 200 ms, and the broker sees one OfficeTemp at once and
    // one per 200 ms of scheduler time, none in between.
    assert.deepEqual(scheduler.periods(), [200, 250]);
    const ticks = (called: number[]) => called.filter((p) => p === 200).length;
    for (let n = 1; n <= 5; n++) {
      if (n > 1) {
        assert.equal(ticks(scheduler.advance(199)), 0, 'no tick before 200 ms');
        assert.equal(ticks(scheduler.advance(1)), 1, 'one tick at 200 ms');
      }
      // Waiting for the flow to complete: a tick during the previous flow is skipped by design.
      await waitFor(
        () => row()?.published === n && seen.length === n,
        `OfficeTemp number ${n} at the new interval`,
      );
    }
  });

  it('shows the Valve output turn on when `courier pub` sends On', async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'state');
    const valve = page.locator('[data-testid="channel-value-0"]');
    await valve.filter({ hasText: /^Off$/ }).waitFor();
    const r = await runCli([
      'pub',
      '-p',
      String(fx.broker.port),
      '-u',
      'observer',
      '-P',
      'observer-pw',
      '-q',
      '1',
      '-t',
      'Valve',
      '-m',
      'On',
    ]);
    assert.equal(r.status, 0, r.stderr);
    await valve.filter({ hasText: /^On$/ }).waitFor({ timeout: 5000 });
    assert.equal(await valve.getAttribute('data-value'), 'true');
    // The message shows in the log of messages in, and ValveState in the messages out.
    await page
      .locator('[data-testid=messages] [data-testid=message][data-dir=in]')
      .filter({ hasText: 'Valve' })
      .filter({ hasText: 'On' })
      .first()
      .waitFor();
    await page
      .locator('[data-testid=messages] [data-testid=message][data-dir=out]')
      .filter({ hasText: 'ValveState' })
      .first()
      .waitFor();
    // And the page can switch it off again.
    await page.locator('button[data-testid="channel-toggle-0"]').click();
    await valve.filter({ hasText: /^Off$/ }).waitFor({ timeout: 5000 });
    assert.equal(fx.agent.snapshot().channels[0]?.value, false);
  });

  it('shows a refused QoS next to its field and applies nothing', async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'topics');
    await page.locator('input[name="topics[1].qos"]').fill('5');
    await page.locator('section#topics button[data-testid=save]').click();
    await page
      .locator('[data-error-for="topics[1].qos"]')
      .filter({ hasText: 'must be 0, 1 or 2' })
      .waitFor();
    assert.equal(
      await page.locator('input[name="topics[1].qos"]').getAttribute('aria-invalid'),
      'true',
    );
    await page
      .locator('section#topics [data-testid=save-status]')
      .filter({ hasText: /1 problem/ })
      .waitFor();
    assert.equal(fx.agent.config.topics[1]?.qos, 2, 'the running configuration is unchanged');
  });

  it('edits the topic table: add, reorder and remove rows', async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'topics');
    await page.locator('[data-testid=add-topic]').click();
    await page.locator('[data-testid="topic-row-3"]').waitFor();
    await page.locator('input[name="topics[3].topic"]').fill('RTD9');
    await page.locator('select[name="topics[3].direction"]').selectOption('publish');
    await page.locator('select[name="topics[3].channel"]').selectOption('9');
    await page.locator('[data-testid="up-topic-3"]').click();
    assert.equal(await page.locator('input[name="topics[2].topic"]').inputValue(), 'RTD9');
    await page.locator('[data-testid="remove-topic-0"]').click();
    await saveSection(page, 'topics');
    assert.deepEqual(
      fx.agent.config.topics.map((r) => r.topic),
      ['OfficeTemp', 'RTD9', 'ValveState'],
    );
  });

  it('Azure IoT Hub: the State card shows hub, SAS expiry and renewal; the device key is only "set"', async (t) => {
    const certs = await testCerts();
    const key = Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const hub = await startAzureIotHubEmulator(t, certs, { 'pump-7': key }, 'localhost');
    const fx = await startConsoleFixture(t);
    const { login: _login, ...config } = fx.agent.config;
    const applied = await fx.agent.applyConfig({
      ...config,
      connection: {
        ...config.connection,
        server: '127.0.0.1',
        port: hub.port,
        clientId: 'pump-7',
        profile: 'azure-iot-hub',
      },
      security: { authMode: 'server', ca: certs.ca.certFile },
      lwt: {},
      topics: [],
      azure: { hub: 'localhost', deviceId: 'pump-7', deviceKey: key, sasTtlSec: 3600 },
    } as never);
    assert.deepEqual(applied, { ok: true, applied: 'reconnected' });
    await fx.agent.whenConnected(10_000);
    const page = await loggedInPage(t, fx.web.url);
    const card = page.locator('[data-testid=platform-card]');
    await card.filter({ hasText: /Azure IoT Hub/ }).waitFor();
    const expires = hub.connections.at(-1)!.expirySec * 1000;
    assert.equal(
      await page.locator('[data-testid=platform-sas-expiry]').textContent(),
      await page.evaluate((at) => new Date(at).toLocaleString(), expires),
    );
    assert.notEqual(await page.locator('[data-testid=platform-sas-renewal]').textContent(), '—');
    assert.equal(await page.locator('[data-testid=platform-device-key]').textContent(), '********');
    await go(page, 'connection');
    await page.locator('input[name="azure.hub"]').waitFor();
    assert.equal(await page.locator('input[name="azure.hub"]').inputValue(), 'localhost');
    assert.equal(await page.locator('input[name="azure.deviceKey"]').inputValue(), '');
    assert.equal((await page.content()).includes(key), false, 'the key is not in the page');
  });

  it('draws a trend chart of each channel and of the message rate (uPlot), and keeps a screenshot', async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'state');
    // OfficeTemp (input 8) changes every 50 ms in the fixture; the rate follows the snapshots.
    const points = (id: string) =>
      page.locator(`[data-testid="${id}"]`).getAttribute('data-points').then(Number);
    for (const [id, least] of [
      ['channel-trend-8', 5],
      ['rate-chart', 3],
    ] as const) {
      // A function, not a string: the console's CSP forbids eval.
      await page.waitForFunction(
        ({ sel, n }) => {
          const doc = (globalThis as unknown as { document: ParentNodeLike }).document;
          return Number(doc.querySelector(sel)?.getAttribute('data-points')) >= n;
        },
        { sel: `[data-testid="${id}"]`, n: least },
      );
      assert.ok((await points(id)) >= least, id);
    }
    // Drawn, not just laid out: the chart's canvas has painted pixels.
    const painted = (await page.evaluate(`(() => {
      const out = {};
      for (const id of ['channel-trend-8', 'rate-chart']) {
        const canvas = document.querySelector('[data-testid="' + id + '"] canvas');
        if (!canvas) { out[id] = -1; continue; }
        const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
        out[id] = n;
      }
      return out;
    })()`)) as Record<string, number>;
    assert.ok(
      painted['channel-trend-8']! > 20,
      `channel chart pixels: ${painted['channel-trend-8']}`,
    );
    assert.ok(painted['rate-chart']! > 20, `rate chart pixels: ${painted['rate-chart']}`);
    await mkdir(SHOTS, { recursive: true });
    const file = join(SHOTS, 'state-charts-desktop.png');
    await page.locator('section#state').screenshot({ path: file });
    assert.ok((await stat(file)).size > 5000, `${file} is an image of something`);
  });

  it("edits a row's MQTT 5 properties in the Topics table; on 3.1.1 they are refused next to their field", async (t) => {
    const fx = await startConsoleFixture(t);
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'topics');
    // At 3.1.1 the table has no MQTT 5 column.
    assert.equal(await page.locator('input[name="topics[1].contentType"]').count(), 0);
    await go(page, 'options');
    await page.locator('select[name="connection.protocolVersion"]').selectOption('5');
    await saveSection(page, 'options');
    await go(page, 'topics');
    await page.locator('input[name="topics[1].messageExpirySec"]').fill('90');
    await page.locator('input[name="topics[1].contentType"]').fill('text/plain');
    await page.locator('[data-testid="topics[1]-up-add"]').click();
    await page.locator('input[name="topics[1].userProperties[0].name"]').fill('site');
    await page.locator('input[name="topics[1].userProperties[0].value"]').fill('north');
    await page.locator('[data-testid="topics[1]-up-add"]').click();
    await page.locator('input[name="topics[1].userProperties[1].name"]').fill('line');
    await page.locator('input[name="topics[1].userProperties[1].value"]').fill('2');
    await page.locator('[data-testid="topics[1]-up-0-remove"]').click();
    await saveSection(page, 'topics');
    const row = fx.agent.config.topics[1];
    assert.equal(row?.messageExpirySec, 90);
    assert.equal(row?.contentType, 'text/plain');
    assert.deepEqual(row?.userProperties, [{ name: 'line', value: '2' }]);
    // The Will's MQTT 5 settings, on the LWT page.
    await go(page, 'lwt');
    await page.locator('input[name="lwt.topic"]').fill('lucidiot-1/status');
    await page.locator('input[name="lwt.messageExpirySec"]').fill('600');
    await page.locator('input[name="lwt.contentType"]').fill('text/plain');
    await page.locator('[data-testid="lwt-up-add"]').click();
    await page.locator('input[name="lwt.userProperties[0].name"]').fill('reason');
    await page.locator('input[name="lwt.userProperties[0].value"]').fill('lost');
    await saveSection(page, 'lwt');
    const lwt = fx.agent.config.lwt;
    assert.equal(lwt.messageExpirySec, 600);
    assert.equal(lwt.contentType, 'text/plain');
    assert.deepEqual(lwt.userProperties, [{ name: 'reason', value: 'lost' }]);
    // Back to 3.1.1: the rows keep their column, and the error shows where it belongs.
    await go(page, 'options');
    await page.locator('select[name="connection.protocolVersion"]').selectOption('3.1.1');
    await page.locator('section#options button[data-testid=save]').click();
    await page
      .locator('section#options [data-testid=save-status]')
      .filter({ hasText: /6 problems/ })
      .waitFor();
    await go(page, 'topics');
    await page
      .locator('[data-error-for="topics[1].contentType"]')
      .filter({ hasText: 'is an MQTT 5 message property' })
      .waitFor();
    assert.equal(fx.agent.config.connection.protocolVersion, '5', 'nothing applied');
  });

  it('takes a screenshot of every section at desktop and phone width', async (t) => {
    const fx = await startConsoleFixture(t);
    await mkdir(SHOTS, { recursive: true });
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const page = await openPage(t, fx.web.url, viewport);
      await page.screenshot({ path: join(SHOTS, `sign-in-${name}.png`) });
      await logIn(page);
      for (const section of SECTIONS) {
        await go(page, section);
        if (section === 'state') await page.locator('[data-testid="channel-value-8"]').waitFor();
        const file = join(SHOTS, `${section}-${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        assert.ok((await stat(file)).size > 5000, `${file} is an image of something`);
        // Nothing wider than the screen: the page is usable on a phone without zooming out.
        const overflow = (await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        )) as number;
        assert.ok(overflow <= 1, `${section} at ${name} width scrolls sideways by ${overflow} px`);
      }
    }
  });

  it('sets up Murano from the browser: connector, device, a resource; the agent provisions and reports', async (t) => {
    const emu = await startMuranoEmulator(t);
    // Only where the socket goes is in the file (an emulator is not on the form).
    const fx = await startConsoleFixture(t, {
      config: {
        murano: { ca: emu.certs.ca.certFile, connectTo: { host: '127.0.0.1', port: emu.port } },
      },
    });
    const page = await loggedInPage(t, fx.web.url);
    await go(page, 'murano');
    await page.locator('input[name="murano.enabled"]').check();
    await page.locator('input[name="murano.connectorId"]').fill(emu.connectorId);
    await page.locator('input[name="murano.deviceId"]').fill('dev-ui');
    await page.locator('[data-testid=murano-resource-add]').click();
    await page.locator('input[name="murano.resources[0].alias"]').fill('data_in');
    await page.locator('[data-testid="murano.resources[0]-channel-0"]').fill('x');
    await page.locator('section#murano button[data-testid=save]').click();
    // A channel that is not a number is refused next to its pair, and nothing is applied.
    await page
      .locator('[data-error-for="murano.resources[0].channels.001"]')
      .filter({ hasText: 'must be a channel id' })
      .waitFor();
    assert.equal(fx.agent.config.murano.enabled, false, 'nothing applied');
    await page.locator('[data-testid="murano.resources[0]-channel-0"]').fill('8');
    await saveSection(page, 'murano');
    assert.deepEqual(fx.agent.config.murano.resources, [
      { alias: 'data_in', direction: 'in', channels: { '001': 8 } },
    ]);
    assert.equal(fx.agent.config.murano.connectorId, emu.connectorId);
    await go(page, 'state');
    const card = page.locator('[data-testid=murano-card]');
    await card.locator('[data-testid=murano-token]').filter({ hasText: /^yes$/ }).waitFor();
    assert.equal(await card.locator('[data-testid=murano-device]').textContent(), 'dev-ui');
    // Channel 8's readings reach the resource the form mapped it to.
    await waitFor(() => emu.writes('dev-ui', 'data_in').length > 0, 'a reading on data_in');
    assert.match(emu.writes('dev-ui', 'data_in')[0]!.value, /"001"/);
  });

  it('shows the Murano card: a taken id, then Re-provision after the reset', async (t) => {
    const emu = await startMuranoEmulator(t, {
      content: [
        {
          name: 'firmware.bin',
          length: 1024,
          mime: 'application/octet-stream',
          url: 'javascript:alert(1)',
        },
      ],
    });
    emu.devices.set('dev-1', 'z'.repeat(40));
    const fx = await startConsoleFixture(t, {
      config: {
        murano: {
          enabled: true,
          connectorId: emu.connectorId,
          deviceId: 'dev-1',
          ca: emu.certs.ca.certFile,
          connectTo: { host: '127.0.0.1', port: emu.port },
          resources: [{ alias: 'data_in', channels: { '008': 8 } }],
        },
      },
    });
    const page = await loggedInPage(t, fx.web.url);
    const card = page.locator('[data-testid=murano-card]');
    await card
      .locator('[data-testid=murano-provisioning]')
      .filter({ hasText: /^failed$/ })
      .waitFor();
    assert.equal(await card.locator('[data-testid=murano-token]').textContent(), 'no');
    emu.reset('dev-1');
    page.once('dialog', (d) => void d.accept());
    await card.locator('button[data-testid=murano-reprovision]').click();
    await card.locator('[data-testid=murano-token]').filter({ hasText: /^yes$/ }).waitFor();
    await card
      .locator('[data-testid=murano-content]')
      .filter({ hasText: 'firmware.bin' })
      .waitFor();
    // A content URL that is not http(s) is shown as text, never as a link.
    assert.equal(await card.locator('[data-testid=murano-content] a').count(), 0);
    await mkdir(SHOTS, { recursive: true });
    await card.screenshot({ path: join(SHOTS, 'murano-card-desktop.png') });
  });
});

/**
 * The Redis bridge (WCC Lite): its switch and server, and the Devices and Signals tables that
 * map Redis tags to MQTT topics.
 */

import { CheckField, EditSection, NumberField, SelectField, TextField, useEditor } from './editor';
import { getAt } from './paths';
import { RowTable } from './rows';

type Row = Record<string, unknown>;

const newDevice = (n: number): Row => ({
  name: '',
  deviceAlias: `device${n}`,
  enable: true,
  enableThreshold: true,
  mqttQos: 0,
  mqttRetain: false,
});

const cols = (...labels: string[]) => labels.map((label) => ({ label }));

const newSignal = (deviceAlias: string): Row => ({
  signalName: '',
  deviceAlias,
  signalAlias: '',
  sourceDeviceAlias: '',
  sourceSignalAlias: '',
  direction: 'in',
  enable: true,
});

const DIRECTIONS = [
  { value: 'in', label: 'in: Redis → MQTT' },
  { value: 'out', label: 'out: MQTT → Redis' },
];

export function RedisSection() {
  const editor = useEditor();
  const devices = (getAt(editor.draft, 'redis.devices') as Row[] | undefined) ?? [];
  const aliases = devices.map((d) => String(d.deviceAlias ?? ''));
  return (
    <EditSection
      id="redis"
      title="Redis"
      intro="Signals of a gateway's Redis (WCC Lite tags) published to MQTT, and MQTT commands written back."
    >
      <div class="grid">
        <CheckField path="redis.enabled" label="Run the Redis bridge" />
        <TextField
          path="redis.url"
          label="Redis URL"
          placeholder="redis://127.0.0.1:6379"
          hint="A password in the URL is shown as ********; leave it so to keep it."
          wide
        />
      </div>
      <h2>Devices</h2>
      <RowTable<Row>
        path="redis.devices"
        name="device"
        columns={cols('Alias', 'Name', 'Enable', 'Threshold', 'QoS', 'Retain')}
        empty="No devices yet: add one."
        addLabel="+ Add device"
        make={(rows) => newDevice(rows.length + 1)}
        cells={(at) => (
          <>
            <td class="cell-topic">
              <TextField compact path={`${at}.deviceAlias`} label="Device alias" />
            </td>
            <td class="cell-topic">
              <TextField compact path={`${at}.name`} label="Name" />
            </td>
            <td class="cell-check">
              <CheckField compact path={`${at}.enable`} label="Enable" defaultValue />
            </td>
            <td class="cell-check">
              <CheckField compact path={`${at}.enableThreshold`} label="Threshold" defaultValue />
            </td>
            <td class="cell-small">
              <NumberField compact path={`${at}.mqttQos`} label="QoS" step="1" />
            </td>
            <td class="cell-check">
              <CheckField compact path={`${at}.mqttRetain`} label="Retain" />
            </td>
          </>
        )}
      />
      <h2>Signals</h2>
      <RowTable<Row>
        path="redis.signals"
        name="signal"
        columns={cols(
          'Device',
          'Signal alias',
          'Source device',
          'Source signal',
          'Direction',
          'Topic',
          'Enable',
        )}
        empty="No signals yet: add one."
        addLabel="+ Add signal"
        make={() => newSignal(aliases[0] ?? '')}
        cells={(at) => (
          <>
            <td class="cell-channel">
              <SelectField
                compact
                path={`${at}.deviceAlias`}
                label="Device"
                options={aliases.map((a) => ({ value: a, label: a }))}
              />
            </td>
            <td class="cell-topic">
              <TextField compact path={`${at}.signalAlias`} label="Signal alias" />
            </td>
            <td class="cell-topic">
              <TextField compact path={`${at}.sourceDeviceAlias`} label="Source device alias" />
            </td>
            <td class="cell-topic">
              <TextField compact path={`${at}.sourceSignalAlias`} label="Source signal alias" />
            </td>
            <td class="cell-channel">
              <SelectField
                compact
                path={`${at}.direction`}
                label="Direction"
                options={DIRECTIONS}
              />
            </td>
            <td class="cell-topic">
              <TextField
                compact
                path={`${at}.topic`}
                label="Topic"
                placeholder="tag/<source>/<signal>/<direction>"
                emptyAs="undefined"
              />
            </td>
            <td class="cell-check">
              <CheckField compact path={`${at}.enable`} label="Enable" defaultValue />
            </td>
          </>
        )}
      />
    </EditSection>
  );
}

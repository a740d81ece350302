/**
 * The Redis bridge (WCC Lite): its switch and server, and the Devices and Signals tables that
 * map Redis tags to MQTT topics.
 */

import type { ComponentChildren } from 'preact';
import {
  CheckField,
  EditSection,
  NumberField,
  RemoveButton,
  SelectField,
  TextField,
  useEditor,
} from './editor';
import { getAt, setAt } from './paths';

type Row = Record<string, unknown>;

const newDevice = (n: number): Row => ({
  name: '',
  deviceAlias: `device${n}`,
  enable: true,
  enableThreshold: true,
  mqttQos: 0,
  mqttRetain: false,
});

const newSignal = (deviceAlias: string): Row => ({
  signalName: '',
  deviceAlias,
  signalAlias: '',
  sourceDeviceAlias: '',
  sourceSignalAlias: '',
  enable: true,
});

/** A table of rows at `path` with a remove button per row and an add button. */
function RowTable(props: {
  path: 'redis.devices' | 'redis.signals';
  testid: string;
  headers: string[];
  make: (rows: Row[]) => Row;
  cells: (at: string, row: Row) => ComponentChildren;
}) {
  const editor = useEditor();
  const rows = (getAt(editor.draft, props.path) as Row[] | undefined) ?? [];
  const edit = (next: Row[]) => editor.update((draft) => setAt(draft, props.path, next), 'redis');
  return (
    <>
      <div class="table-scroll">
        <table class="topics-table">
          <thead>
            <tr>
              <th>#</th>
              {props.headers.map((h) => (
                <th key={h}>{h}</th>
              ))}
              <th>
                <span class="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={props.headers.length + 2} class="empty">
                  None yet: add one.
                </td>
              </tr>
            )}
            {rows.map((row, i) => (
              <tr key={i} data-testid={`${props.testid}-row-${i}`}>
                <td>
                  <span class="num-label">{i}</span>
                </td>
                {props.cells(`${props.path}[${i}]`, row)}
                <td class="row-actions">
                  <RemoveButton
                    testid={`remove-${props.testid}-${i}`}
                    label={`Remove ${props.testid} ${i}`}
                    onClick={() => edit(rows.filter((_, j) => j !== i))}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="table-actions">
        <button
          type="button"
          class="btn"
          data-testid={`add-${props.testid}`}
          onClick={() => edit([...rows, props.make(rows)])}
        >
          + Add
        </button>
      </div>
    </>
  );
}

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
      <RowTable
        path="redis.devices"
        testid="device"
        headers={['Alias', 'Name', 'Enable', 'Threshold', 'QoS', 'Retain']}
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
      <RowTable
        path="redis.signals"
        testid="signal"
        headers={['Device', 'Signal alias', 'Source device', 'Source signal', 'Topic', 'Enable']}
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
            <td class="cell-topic">
              <TextField
                compact
                path={`${at}.topic`}
                label="Topic"
                placeholder="tag/<source>/<signal>/in"
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

/**
 * The I/O module: its name, the simulator's period and seed, and the channel table (Value Id,
 * name, function type, the signal and unit of analog channels, the engineering range).
 */

import { useEffect } from 'preact/hooks';
import { EditSection, NumberField, type Option, SelectField, TextField, useEditor } from './editor';
import { getAt } from './paths';
import { type Column, RowTable } from './rows';
import type { ChannelConfig, ChannelType } from './types';

const TYPES: Option[] = [
  { value: 'digital-input', label: 'Digital input' },
  { value: 'digital-output', label: 'Digital output' },
  { value: 'analog-input', label: 'Analog input' },
  { value: 'analog-output', label: 'Analog output' },
  { value: 'rtd-input', label: 'RTD temperature' },
  { value: 'counter', label: 'Counter' },
];

const SIGNALS: Option[] = [
  { value: '', label: 'default (0-10V)' },
  ...['0-10V', '0-5V', '±10V', '4-20mA', '0-20mA'].map((s) => ({ value: s, label: s })),
];

const COLUMNS: Column[] = [
  { label: 'Value Id' },
  { label: 'Name' },
  { label: 'Type' },
  { label: 'Signal', title: 'Electrical signal of an analog channel' },
  { label: 'Unit' },
  { label: 'Range', title: 'Engineering range: min and max' },
];

const isAnalog = (type: ChannelType | undefined) =>
  type === 'analog-input' || type === 'analog-output';

/** The next free Value Id. */
const nextId = (rows: ChannelConfig[]) =>
  rows.reduce((max, c) => (typeof c.id === 'number' && c.id > max ? c.id : max), -1) + 1;

/** Min and max; both emptied removes the range (the signal's default applies again). */
function RangeCell({ at }: { at: string }) {
  const editor = useEditor();
  const range = getAt(editor.draft, `${at}.range`) as { min?: unknown; max?: unknown } | undefined;
  const empty = range !== undefined && range.min === undefined && range.max === undefined;
  useEffect(() => {
    if (empty) editor.set(`${at}.range`, undefined);
  }, [empty, at]);
  return (
    <div class="format-opts">
      <NumberField
        compact
        path={`${at}.range.min`}
        label="Range min"
        placeholder="min"
        also={[`${at}.range`]}
      />
      <NumberField compact path={`${at}.range.max`} label="Range max" placeholder="max" />
    </div>
  );
}

/** The channel as type `type`: a signal only on analog channels, a range not on digital ones. */
function retype(row: ChannelConfig, type: ChannelType): ChannelConfig {
  const { signal, range, ...rest } = row;
  const digital = type === 'digital-input' || type === 'digital-output';
  return {
    ...rest,
    type,
    ...(isAnalog(type) && signal !== undefined ? { signal } : {}),
    ...(!digital && range !== undefined ? { range } : {}),
  };
}

export function DeviceSection() {
  const editor = useEditor();
  return (
    <EditSection
      id="device"
      title="Device"
      intro="The I/O module: its channels are what the topic table publishes and drives."
    >
      <div class="grid">
        <TextField path="device.name" label="Device name" hint="Shown at the top of this page." />
        <NumberField
          path="device.stepMs"
          label="Simulation period (ms)"
          step="1"
          hint="How often the simulated inputs change."
        />
        <NumberField
          path="device.seed"
          label="Simulation seed"
          step="1"
          placeholder="random"
          hint="The same seed gives the same values."
        />
      </div>
      <h2>Limits</h2>
      <div class="grid">
        <NumberField
          path="limits.channels"
          label="Most channels"
          step="1"
          hint="LucidIoT modules have 16."
        />
        <NumberField path="limits.topics" label="Most topic rows" step="1" />
      </div>
      <h2>Channels</h2>
      <RowTable<ChannelConfig>
        path="device.channels"
        name="channel"
        columns={COLUMNS}
        empty="No channels yet: add one."
        addLabel="+ Add channel"
        make={(rows) => ({
          id: nextId(rows),
          name: `Channel ${nextId(rows)}`,
          type: 'digital-input',
        })}
        cells={(at, row) => (
          <>
            <td class="cell-small">
              <NumberField compact path={`${at}.id`} label="Value Id" step="1" />
            </td>
            <td class="cell-topic">
              <TextField compact path={`${at}.name`} label="Name" />
            </td>
            <td class="cell-channel">
              <SelectField
                compact
                path={`${at}.type`}
                label="Type"
                options={TYPES}
                onPick={(picked) => editor.set(at, retype(row, picked as ChannelType))}
              />
            </td>
            <td class="cell-mid">
              {isAnalog(row.type) ? (
                <SelectField
                  compact
                  path={`${at}.signal`}
                  label="Signal"
                  options={SIGNALS}
                  parse={(v) => (v === '' ? undefined : v)}
                />
              ) : (
                <span class="muted">—</span>
              )}
            </td>
            <td class="cell-small">
              <TextField
                compact
                path={`${at}.unit`}
                label="Unit"
                placeholder="auto"
                emptyAs="undefined"
              />
            </td>
            <td>
              {row.type === 'digital-input' || row.type === 'digital-output' ? (
                <span class="muted">—</span>
              ) : (
                <RangeCell at={at} />
              )}
            </td>
          </>
        )}
      />
    </EditSection>
  );
}

/** The topic table: edit, add, remove and reorder rows. */

import {
  CheckField,
  EditSection,
  NumberField,
  type Option,
  SelectField,
  TextField,
  UserPropertyPairs,
  useEditor,
} from './editor';
import { type Column, RowTable } from './rows';
import {
  type AgentConfig,
  type ChannelType,
  FORMAT_TYPES,
  type FormatSpec,
  type TopicRow,
} from './types';

const TYPE_SHORT: Record<ChannelType, string> = {
  'digital-input': 'DI',
  'digital-output': 'DO',
  'analog-input': 'AI',
  'analog-output': 'AO',
  'rtd-input': 'RTD',
  counter: 'CNT',
};

const DIRECTIONS: Option[] = [
  { value: 'publish', label: 'Publish' },
  { value: 'subscribe', label: 'Subscribe' },
];

const FORMAT_LABELS: Record<string, string> = {
  number: 'Number',
  boolean: 'Boolean words',
  wcc: 'WCC Lite',
  json: 'JSON',
  template: 'Template',
};

const HAS_PRECISION = new Set(['number', 'wcc', 'json', 'template']);

/** The format a row gets when its type changes: what carries over, plus the new type's own. */
function formatFor(type: string, old: FormatSpec | undefined): FormatSpec {
  const next: FormatSpec = { type };
  if (HAS_PRECISION.has(type) && old?.precision !== undefined && HAS_PRECISION.has(old.type)) {
    next.precision = old.precision;
  }
  if (type === 'boolean') {
    next.on = old?.on ?? 'On';
    next.off = old?.off ?? 'Off';
  }
  if (type === 'template') next.template = old?.template ?? '{value}';
  return next;
}

const newRow = (config: AgentConfig): TopicRow => ({
  topic: '',
  direction: 'publish',
  channel: config.device.channels[0]?.id ?? 0,
  format: { type: 'number' },
  qos: 0,
  retain: false,
  threshold: false,
  deadband: 0,
  enabled: true,
});

function FormatCell({ at, format }: { at: string; format: FormatSpec | undefined }) {
  const editor = useEditor();
  const type = String(format?.type ?? '');
  return (
    <div class="format-cell">
      <SelectField
        compact
        path={`${at}.format.type`}
        label="Format"
        also={[`${at}.format`]}
        options={FORMAT_TYPES.map((t) => ({ value: t, label: FORMAT_LABELS[t] ?? t }))}
        onPick={(picked) => editor.set(`${at}.format`, formatFor(picked, format))}
      />
      {type === 'boolean' && (
        <div class="format-opts">
          <TextField compact path={`${at}.format.on`} label="Word for on" placeholder="On" />
          <TextField compact path={`${at}.format.off`} label="Word for off" placeholder="Off" />
        </div>
      )}
      {type === 'template' && (
        <TextField
          compact
          path={`${at}.format.template`}
          label="Template"
          placeholder="{value} {unit}"
        />
      )}
      {HAS_PRECISION.has(type) && (
        <div class="format-opts">
          <NumberField
            compact
            path={`${at}.format.precision`}
            label="Precision (decimals)"
            placeholder="auto"
            step="1"
          />
          {(type === 'number' || type === 'json') && (
            <CheckField
              compact
              inlineLabel
              path={`${at}.format.withUnit`}
              label="unit"
              defaultValue={type === 'json'}
            />
          )}
        </div>
      )}
    </div>
  );
}

/**
 * A publish row's MQTT 5 message properties: expiry, content type and user properties (name
 * and value pairs, added and removed here). Only on an MQTT 5 connection; the server refuses
 * them on 3.1.1 and names the row.
 */
function PropertiesCell({ at }: { at: string }) {
  return (
    <div class="format-cell" data-testid={`${at}-properties`}>
      <NumberField
        compact
        path={`${at}.messageExpirySec`}
        label="Message expiry (s)"
        placeholder="expiry s"
        step="1"
      />
      <TextField
        compact
        path={`${at}.contentType`}
        label="Content type"
        placeholder="content type"
        emptyAs="undefined"
      />
      <UserPropertyPairs at={at} />
    </div>
  );
}

const COLUMNS: Column[] = [
  { label: 'On', class: 'cell-check' },
  { label: 'Topic' },
  { label: 'Direction' },
  { label: 'Channel' },
  { label: 'Format' },
  { label: 'QoS' },
  { label: 'Retain', class: 'cell-check' },
  { label: 'Every ms', title: 'Publish interval in milliseconds' },
  { label: 'Thresh.', class: 'cell-check', title: 'Send only changed values' },
  { label: 'Deadband' },
];

/** The MQTT 5 column, shown when the connection speaks MQTT 5. */
const V5_COLUMN: Column = {
  label: 'MQTT 5',
  title: 'Message expiry, content type and user properties of each message',
};

export function TopicsSection() {
  const editor = useEditor();
  const rows = editor.draft.topics ?? [];
  // Rows that already have properties show them on 3.1.1 too, so the error can be fixed.
  const v5 =
    String(editor.draft.connection?.protocolVersion ?? '') === '5' ||
    rows.some(
      (r) =>
        r.messageExpirySec !== undefined ||
        r.contentType !== undefined ||
        r.userProperties !== undefined,
    );
  const channels = editor.draft.device?.channels ?? [];
  const channelOptions: Option[] = channels.map((c) => ({
    value: String(c.id),
    label: `${c.id} · ${c.name} (${TYPE_SHORT[c.type] ?? c.type})`,
  }));
  return (
    <EditSection
      id="topics"
      title="Topics"
      intro="Publish rows send a channel's value; subscribe rows drive an output channel."
    >
      <RowTable<TopicRow>
        path="topics"
        name="topic"
        columns={v5 ? [...COLUMNS, V5_COLUMN] : COLUMNS}
        movable
        rowClass={(row) => (row.enabled === false ? 'row-off' : undefined)}
        empty="No topics yet: add a row."
        addLabel="+ Add row"
        footer={<span class="muted">{rows.length === 1 ? '1 row' : `${rows.length} rows`}</span>}
        make={() => newRow(editor.draft)}
        cells={(at, row) => {
          const publish = row.direction !== 'subscribe';
          return (
            <>
              <td class="cell-check">
                <CheckField compact path={`${at}.enabled`} label="Enabled" defaultValue />
              </td>
              <td class="cell-topic">
                <TextField compact path={`${at}.topic`} label="Topic" placeholder="a/topic" />
              </td>
              <td>
                <SelectField
                  compact
                  path={`${at}.direction`}
                  label="Direction"
                  options={DIRECTIONS}
                />
              </td>
              <td class="cell-channel">
                <SelectField
                  compact
                  path={`${at}.channel`}
                  label="Channel"
                  options={channelOptions}
                  parse={(v) => (v === '' ? undefined : Number(v))}
                />
              </td>
              <td>
                <FormatCell at={at} format={row.format} />
              </td>
              <td class="cell-small">
                <NumberField compact path={`${at}.qos`} label="QoS" step="1" />
              </td>
              <td class="cell-check">
                <CheckField compact path={`${at}.retain`} label="Retain" />
              </td>
              <td class="cell-mid">
                {publish ? (
                  <NumberField
                    compact
                    path={`${at}.pubIntervalMs`}
                    label="Publish interval (ms)"
                    placeholder="1000"
                    step="1"
                  />
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td class="cell-check">
                {publish ? (
                  <CheckField compact path={`${at}.threshold`} label="Threshold" />
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td class="cell-small">
                {publish ? (
                  <NumberField compact path={`${at}.deadband`} label="Deadband" placeholder="0" />
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              {v5 && <td>{publish ? <PropertiesCell at={at} /> : <span class="muted">—</span>}</td>}
            </>
          );
        }}
      />
    </EditSection>
  );
}

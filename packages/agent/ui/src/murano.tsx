/**
 * The Exosite Murano page (the `murano` section) and card.
 *
 * The card: connector, device id, provisioning state, whether a token is held
 * (never the token), the history waiting for upload, the connector's content list, and the
 * explicit re-provision action.
 */

import { useState } from 'preact/hooks';
import { ApiError, api } from './api';
import {
  CheckField,
  EditSection,
  FieldErrors,
  NumberField,
  RemoveButton,
  SecretField,
  SelectField,
  TextField,
  useEditor,
} from './editor';
import type { MuranoResourceConfig, MuranoState } from './types';

const AUTH = [
  { value: 'token', label: 'Token (provisioned by the connector)' },
  { value: 'password', label: 'Password' },
  { value: 'certificate', label: 'Client certificate' },
] as const;

/**
 * The Murano connection: connector, identity and authentication, the resources that map
 * channels, and the offline history. Saving restarts the agent's Murano link. `connectTo`
 * (an emulator or a proxy in front of Murano) is kept as the file has it.
 */
export function MuranoSection() {
  const editor = useEditor();
  const murano = editor.draft.murano ?? {};
  const auth = String(murano.auth ?? 'token');
  const on = murano.enabled === true;
  return (
    <EditSection
      id="murano"
      title="Exosite Murano"
      intro="The device's link to an Exosite Murano IoT Connector (a connection of its own)."
    >
      <div class="grid">
        <CheckField path="murano.enabled" label="Connect to Murano" />
        <TextField
          path="murano.connectorId"
          label="Connector id"
          emptyAs="undefined"
          placeholder="abc123def456"
          hint="Lower-case letters and digits; the host is <id>.m2.exosite.io."
        />
        <TextField
          path="murano.deviceId"
          label="Device id"
          emptyAs="undefined"
          placeholder="serial number"
          hint={
            auth === 'certificate'
              ? "Not used: the certificate's CN is the identity."
              : 'Letters, digits, ".", "_", ":" or "-".'
          }
        />
        <SelectField path="murano.auth" label="Authentication" options={AUTH} />
        {auth === 'password' && (
          <SecretField path="murano.password" label="Password" hint="At least 20 characters." />
        )}
        <SelectField
          path="murano.port"
          label="Port"
          options={[
            { value: '8883', label: '8883' },
            { value: '443', label: '443' },
          ]}
          parse={(v) => Number(v)}
        />
        <TextField
          path="murano.ca"
          label="CA file"
          emptyAs="undefined"
          placeholder="Node's roots"
          hint="Path of the CA of Murano's server certificate."
        />
        {auth === 'certificate' && (
          <>
            <TextField path="murano.cert" label="Certificate file" emptyAs="undefined" />
            <TextField path="murano.key" label="Key file" emptyAs="undefined" />
          </>
        )}
      </div>
      {on && <Resources />}
      <h2>History and limits</h2>
      <div class="grid">
        <CheckField
          path="murano.configIo"
          label="Publish config_io"
          defaultValue
          hint="ExoSense channel descriptions, once per start."
        />
        <NumberField
          path="murano.historyMax"
          label="History (readings)"
          step="1"
          placeholder="10000"
          hint="Kept while offline; the oldest go first, each drop logged."
        />
        <NumberField
          path="murano.batchMaxBytes"
          label="Batch size (bytes)"
          step="1"
          placeholder="1048576"
          hint="Largest $resource.batch when the history is uploaded."
        />
        <NumberField
          path="murano.provisionTimeoutSec"
          label="Provisioning timeout (s)"
          step="1"
          placeholder="30"
        />
      </div>
    </EditSection>
  );
}

/**
 * The resources: each an alias, a direction and its ExoSense channel keys mapped to channel
 * ids (`{"001": 8}`), edited as key / channel pairs.
 */
function Resources() {
  const editor = useEditor();
  const resources: MuranoResourceConfig[] = editor.draft.murano?.resources ?? [];
  const setResources = (next: MuranoResourceConfig[]) => editor.set('murano.resources', next);
  const setChannels = (i: number, pairs: [string, number | string][]) =>
    editor.set(`murano.resources[${i}].channels`, Object.fromEntries(pairs));
  return (
    <>
      <h2>Resources</h2>
      {resources.map((resource, i) => {
        const at = `murano.resources[${i}]`;
        const pairs = Object.entries(resource.channels ?? {});
        return (
          <div class="grid" key={at} data-testid={`${at}`}>
            <TextField
              path={`${at}.alias`}
              label={`Resource ${i + 1} alias`}
              placeholder="data_in"
            />
            <SelectField
              path={`${at}.direction`}
              label="Direction"
              options={[
                { value: 'in', label: 'in: channels → Murano' },
                { value: 'out', label: 'out: Murano → output channels' },
              ]}
            />
            <fieldset
              class="field"
              data-paths={[`${at}.channels`, ...pairs.map(([k]) => `${at}.channels.${k}`)].join(
                ' ',
              )}
            >
              <legend class="group-label">{`Resource ${i + 1} channel keys`}</legend>
              {pairs.map(([key, channel], j) => (
                <div class="format-opts" key={`${at}-ch-${j}`}>
                  <input
                    type="text"
                    aria-label={`Resource ${i + 1} key ${j + 1}`}
                    data-testid={`${at}-key-${j}`}
                    value={key}
                    placeholder="001"
                    onInput={(e) => {
                      const next = [...pairs];
                      next[j] = [e.currentTarget.value, channel];
                      setChannels(i, next);
                    }}
                  />
                  <input
                    type="text"
                    aria-label={`Resource ${i + 1} channel ${j + 1}`}
                    data-testid={`${at}-channel-${j}`}
                    value={String(channel)}
                    inputMode="numeric"
                    placeholder="channel id"
                    onInput={(e) => {
                      const text = e.currentTarget.value;
                      const next = [...pairs];
                      next[j] = [key, /^\d+$/.test(text) ? Number(text) : text];
                      setChannels(i, next);
                    }}
                  />
                  <RemoveButton
                    testid={`${at}-ch-${j}-remove`}
                    label={`Remove key ${j + 1} of resource ${i + 1}`}
                    onClick={() =>
                      setChannels(
                        i,
                        pairs.filter((_, k) => k !== j),
                      )
                    }
                  />
                  <FieldErrors paths={[`${at}.channels.${key}`]} />
                </div>
              ))}
              <button
                type="button"
                class="btn btn-ghost"
                data-testid={`${at}-ch-add`}
                onClick={() => setChannels(i, [...pairs, [nextKey(pairs), '']])}
              >
                + channel key
              </button>
              <FieldErrors paths={[`${at}.channels`]} />
            </fieldset>
            <RemoveButton
              testid={`${at}-remove`}
              label={`Remove resource ${i + 1}`}
              onClick={() => setResources(resources.filter((_, k) => k !== i))}
            />
          </div>
        );
      })}
      <button
        type="button"
        class="btn btn-ghost"
        data-testid="murano-resource-add"
        onClick={() =>
          setResources([...resources, { alias: '', direction: 'in', channels: { '001': '' } }])
        }
      >
        + resource
      </button>
    </>
  );
}

/** The next unused three-digit ExoSense key ("001", "002", ...). */
function nextKey(pairs: readonly [string, unknown][]): string {
  const used = new Set(pairs.map(([k]) => k));
  for (let n = 1; ; n++) {
    const key = String(n).padStart(3, '0');
    if (!used.has(key)) return key;
  }
}

export function MuranoCard({ murano }: { murano: MuranoState }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const reprovision = async () => {
    if (!window.confirm('Forget the stored credential and provision this device again?')) return;
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', '/api/murano/reprovision');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="status-card" data-testid="murano-card">
      <h2>Exosite Murano</h2>
      <dl class="kv">
        <dt>Connector</dt>
        <dd class="mono">{murano.connectorId}</dd>
        <dt>Endpoint</dt>
        <dd class="mono">{murano.endpoint}</dd>
        <dt>Device id</dt>
        <dd class="mono" data-testid="murano-device">
          {murano.deviceId}
        </dd>
        <dt>Authentication</dt>
        <dd>{murano.auth}</dd>
        <dt>Provisioning</dt>
        <dd data-testid="murano-provisioning">{murano.provisioning}</dd>
        <dt>Token present</dt>
        <dd data-testid="murano-token">{murano.tokenPresent ? 'yes' : 'no'}</dd>
        <dt>Connection</dt>
        <dd>{murano.connected ? 'connected' : 'not connected'}</dd>
        <dt>History</dt>
        <dd>
          {murano.history.pending} waiting
          {murano.history.dropped > 0 ? `, ${murano.history.dropped} dropped (full)` : ''}
        </dd>
      </dl>
      {murano.lastError ? <div class="last-error">{murano.lastError}</div> : null}
      {murano.content ? (
        <>
          <h3>Content</h3>
          {murano.content.length === 0 ? (
            <p class="muted">The connector offers no content.</p>
          ) : (
            <ul data-testid="murano-content">
              {murano.content.map((c) => (
                <li key={c.name}>
                  {/* A URL from the cloud becomes a link only when it is http(s): never javascript:. */}
                  {/^https?:\/\//i.test(c.url) ? (
                    <a href={c.url} rel="noreferrer noopener" target="_blank">
                      {c.name}
                    </a>
                  ) : (
                    <span>{c.name}</span>
                  )}{' '}
                  <span class="muted">
                    {c.mime}, {c.length} bytes
                  </span>
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
      {murano.auth === 'certificate' ? null : (
        <button
          type="button"
          disabled={busy}
          onClick={reprovision}
          data-testid="murano-reprovision"
        >
          Re-provision
        </button>
      )}
      {error ? <div class="last-error">{error}</div> : null}
    </div>
  );
}

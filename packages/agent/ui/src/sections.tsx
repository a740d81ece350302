/** The configuration sections: Connection, Options, LWT, Login, Security, and the admin password. */

import { useEffect, useState } from 'preact/hooks';
import { ApiError, api } from './api';
import {
  CheckField,
  EditSection,
  NumberField,
  SecretField,
  SelectField,
  StatusLine,
  TextField,
  UserPropertyPairs,
  useEditor,
} from './editor';
import { getAt } from './paths';
import { AUTH_MODES, type CertInfo, type FilesAnswer, type TlsFiles } from './types';

export function ConnectionSection() {
  return (
    <EditSection id="connection" title="Connection" intro="Where the MQTT server is.">
      <div class="grid">
        <TextField path="connection.server" label="Server" placeholder="broker.example.com" wide />
        <NumberField
          path="connection.port"
          label="Port"
          step="1"
          placeholder="1883 (8883 with TLS)"
          hint="Empty: 1883, or 8883 when TLS is on."
        />
        <TextField
          path="connection.clientId"
          label="Client id"
          placeholder="generated"
          hint="Empty lets the library generate one."
        />
        <TextField
          path="connection.endpointName"
          label="Endpoint name"
          placeholder="same as server"
          emptyAs="undefined"
          hint="TLS server name (SNI); AWS IoT needs it."
        />
        <NumberField path="connection.connectTimeoutSec" label="Connect timeout (s)" />
      </div>
      <Platform />
      <BackupServer />
    </EditSection>
  );
}

const PROFILES = [
  { value: 'generic', label: 'Generic MQTT broker' },
  { value: 'exosite', label: 'Exosite Murano' },
  { value: 'aws-iot', label: 'AWS IoT Core' },
  { value: 'azure-iot-hub', label: 'Azure IoT Hub' },
] as const;

/**
 * The cloud platform (`connection.profile`) and, for Azure IoT Hub, the device identity the
 * SAS token is signed from. The device key is a secret field: shown as set or not, never sent
 * back by the server. Leaving Azure removes the `azure` section and its key.
 */
function Platform() {
  const editor = useEditor();
  const profile = String(getAt(editor.draft, 'connection.profile') ?? 'generic');
  const pick = (value: string) => {
    editor.set('connection.profile', value);
    if (value === 'azure-iot-hub' && getAt(editor.draft, 'azure') === undefined) {
      editor.set('azure', { hub: '', deviceId: '', sasTtlSec: 3600 });
    } else if (value !== 'azure-iot-hub') {
      editor.set('azure', undefined);
      editor.setSecret('azure.deviceKey', undefined);
    }
  };
  return (
    <>
      <h2>Cloud platform</h2>
      <div class="grid">
        <SelectField
          path="connection.profile"
          label="Platform"
          options={PROFILES}
          onPick={pick}
          hint="Applies the platform's documented MQTT limits (QoS, retain, sizes, TLS)."
        />
        {profile === 'azure-iot-hub' && (
          <>
            <TextField
              path="azure.hub"
              label="IoT hub"
              placeholder="myhub.azure-devices.net"
              wide
            />
            <TextField path="azure.deviceId" label="Device id" />
            <SecretField path="azure.deviceKey" label="Device key" hint="Base64 symmetric key." />
            <NumberField path="azure.sasTtlSec" label="SAS token lifetime (s)" step="1" />
          </>
        )}
      </div>
    </>
  );
}

const BACKUP_SECRETS = ['backup.login.password', 'backup.security.psk.key'];

/**
 * The backup server (Mongoose OS `mqtt1`): tried after the reconnect delay has grown to its
 * largest and an attempt then failed. Off removes the whole `backup` section.
 */
function BackupServer() {
  const editor = useEditor();
  const backup = getAt(editor.draft, 'backup');
  const on = backup !== undefined;
  const backupMode = String(getAt(editor.draft, 'backup.security.authMode') ?? 'none');
  const toggle = (checked: boolean) => {
    if (checked) {
      editor.set('backup', {
        enabled: true,
        connection: { server: '' },
        login: {},
        security: { authMode: 'none' },
      });
    } else {
      editor.set('backup', undefined);
      for (const key of BACKUP_SECRETS) editor.setSecret(key, undefined);
    }
  };
  return (
    <>
      <h2>Backup server</h2>
      <div class="grid">
        <label class="check">
          <input
            type="checkbox"
            data-testid="backup-toggle"
            checked={on}
            onChange={(e) => toggle(e.currentTarget.checked)}
          />
          <span>Fail over to a backup server</span>
        </label>
      </div>
      {on && (
        <div class="grid">
          <TextField
            path="backup.connection.server"
            label="Server"
            placeholder="backup.example.com"
            wide
          />
          <NumberField
            path="backup.connection.port"
            label="Port"
            step="1"
            placeholder="1883 (8883 with TLS)"
          />
          <TextField
            path="backup.connection.endpointName"
            label="Endpoint name"
            placeholder="same as server"
            emptyAs="undefined"
          />
          <SelectField
            path="backup.security.authMode"
            label="Security"
            options={AUTH_MODES.map((m) => ({ value: m, label: MODE_LABELS[m] ?? m }))}
          />
          {backupMode === 'psk' && (
            <>
              <TextField
                path="backup.security.psk.identity"
                label="PSK identity"
                also={['backup.security.psk']}
              />
              <SecretField
                path="backup.security.psk.key"
                label="PSK key"
                hint="Hexadecimal digits."
              />
            </>
          )}
          <TextField
            path="backup.login.username"
            label="User name"
            emptyAs="undefined"
            placeholder="none"
          />
          <SecretField path="backup.login.password" label="Password" />
          <CheckField
            path="backup.enabled"
            label="Enabled"
            defaultValue
            hint="Off keeps the settings but never fails over."
          />
        </div>
      )}
      {on && <TlsFileCards prefix="backup.security" mode={backupMode} />}
    </>
  );
}

export function OptionsSection() {
  return (
    <EditSection id="options" title="Options" intro="How the connection is made and kept.">
      <h2>Network</h2>
      <div class="grid">
        <CheckField path="connection.ipv4" label="IPv4" defaultValue />
        <CheckField path="connection.ipv6" label="IPv6" defaultValue />
        <CheckField
          path="connection.dns"
          label="DNS"
          defaultValue
          hint="Unchecked: the server must be an IP address."
        />
      </div>
      <h2>Session</h2>
      <div class="grid">
        <CheckField
          path="connection.cleanSession"
          label="Clean session"
          defaultValue
          hint="Unchecked = persistent session: the server keeps subscriptions and queued messages (needs a client id)."
        />
        <NumberField
          path="connection.keepaliveSec"
          label="Keep-alive (s)"
          step="1"
          hint="0 disables it."
        />
        <SelectField
          path="connection.protocolVersion"
          label="MQTT version"
          options={[
            { value: '3.1.1', label: '3.1.1' },
            { value: '5', label: '5.0' },
            { value: '3.1', label: '3.1' },
          ]}
        />
        <NumberField
          path="connection.sessionExpirySec"
          label="Session expiry (s)"
          step="1"
          hint="MQTT 5 only. Empty: 0 with a clean session, never expires without."
        />
      </div>
      <h2>Reconnect</h2>
      <div class="grid">
        <NumberField
          path="reconnect.minDelaySec"
          label="First delay (s)"
          hint="Doubles after each failed attempt."
        />
        <NumberField
          path="reconnect.maxDelaySec"
          label="Largest delay (s)"
          hint="Then the backup server is tried."
        />
      </div>
    </EditSection>
  );
}

const QOS_HINT = '0, 1 or 2';

export function LwtSection() {
  return (
    <EditSection
      id="lwt"
      title="Last Will"
      intro="The message the server publishes for the device when it disappears."
    >
      <div class="grid">
        <TextField
          path="lwt.topic"
          label="Topic"
          emptyAs="undefined"
          placeholder="no Will"
          hint="Empty: no Will."
          wide
        />
        <TextField path="lwt.message" label="Message" placeholder="empty" wide />
        <NumberField path="lwt.qos" label="QoS" step="1" hint={QOS_HINT} />
        <CheckField path="lwt.retain" label="Retain" />
      </div>
      <WillV5 />
    </EditSection>
  );
}

/**
 * The Will's MQTT 5 settings: shown on an MQTT 5 connection, or while one is set (so that a
 * switch back to 3.1.1 shows the server's refusal next to the field).
 */
function WillV5() {
  const editor = useEditor();
  const draft = editor.draft;
  const v5 = String(getAt(draft, 'connection.protocolVersion') ?? '') === '5';
  const set = ['delaySec', 'messageExpirySec', 'contentType', 'userProperties'].some(
    (k) => getAt(draft, `lwt.${k}`) !== undefined,
  );
  if (!v5 && !set) return null;
  return (
    <>
      <h2>MQTT 5</h2>
      <div class="grid">
        <NumberField
          path="lwt.delaySec"
          label="Will delay (s)"
          step="1"
          hint="The server holds the Will this long; a reconnect within it cancels it. Needs a session expiry."
        />
        <NumberField
          path="lwt.messageExpirySec"
          label="Message expiry (s)"
          step="1"
          hint="A retained Will older than this is dropped."
        />
        <TextField
          path="lwt.contentType"
          label="Content type"
          emptyAs="undefined"
          placeholder="none"
        />
      </div>
      <fieldset class="field" data-testid="lwt-user-properties">
        <legend class="group-label">User properties</legend>
        <UserPropertyPairs at="lwt" />
      </fieldset>
    </>
  );
}

export function LoginSection() {
  return (
    <EditSection id="login" title="Login" intro="The user name and password the server expects.">
      <div class="grid">
        <TextField path="login.username" label="User name" emptyAs="undefined" placeholder="none" />
        <SecretField
          path="login.password"
          label="Password"
          hint="Left empty, the password is not changed."
        />
      </div>
    </EditSection>
  );
}

const MODE_LABELS: Record<string, string> = {
  none: 'None (plain TCP)',
  server: 'Server (TLS, check the server)',
  'server+client': 'Server + client (mutual TLS)',
  psk: 'Pre-shared key (TLS-PSK)',
};

type FileKind = 'ca' | 'cert' | 'key';

const FILE_LABELS: Record<FileKind, string> = {
  ca: 'CA certificate',
  cert: 'Client certificate',
  key: 'Client private key',
};

function fileSummary(info: CertInfo | undefined) {
  if (info === undefined) return <span class="muted">No file loaded</span>;
  return (
    <dl class="file-info">
      {info.subject !== undefined && (
        <>
          <dt>Subject</dt>
          <dd>{info.subject}</dd>
        </>
      )}
      {info.validTo !== undefined && (
        <>
          <dt>Valid to</dt>
          <dd>{info.validTo}</dd>
        </>
      )}
      {info.type !== undefined && (
        <>
          <dt>Key type</dt>
          <dd>{info.type}</dd>
        </>
      )}
      <dt>File</dt>
      <dd class="mono">{info.path}</dd>
    </dl>
  );
}

/** Files of TLS mode `mode`: the CA for server authentication, and a certificate and key too for mutual TLS. */
const filesOf = (mode: string): FileKind[] =>
  mode === 'server' ? ['ca'] : mode === 'server+client' ? ['ca', 'cert', 'key'] : [];

/**
 * One TLS file of the security settings at `prefix` (`security` or `backup.security`): its path,
 * what the agent's file holds, and an upload that stores a checked file and fills in the path.
 */
function FileField({
  prefix,
  kind,
  info,
  onUploaded,
}: {
  prefix: string;
  kind: FileKind;
  info: CertInfo | undefined;
  onUploaded: (kind: FileKind, info: CertInfo) => void;
}) {
  const path = `${prefix}.${kind}`;
  // Test ids: upload-ca for the primary server, upload-backup-ca for the backup.
  const testid = prefix === 'security' ? kind : `${prefix.split('.')[0]}-${kind}`;
  const editor = useEditor();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const upload = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    if (file === undefined) return;
    setMessage({ ok: true, text: `Uploading ${file.name}…` });
    try {
      const text = await file.text();
      const answer = await api<{ path: string; info?: CertInfo }>('PUT', `/api/files/${kind}`, {
        text,
      });
      editor.set(path, answer.path);
      onUploaded(kind, { ...(answer.info ?? {}), path: answer.path });
      setMessage({ ok: true, text: `Uploaded ${file.name}. Save to use it.` });
    } catch (error) {
      setMessage({ ok: false, text: error instanceof Error ? error.message : String(error) });
    } finally {
      input.value = '';
    }
  };
  const configured = getAt(editor.draft, path);
  return (
    <div class="file-card">
      <h3>{FILE_LABELS[kind]}</h3>
      <TextField path={path} label="Path" emptyAs="undefined" placeholder="not configured" wide />
      {typeof configured === 'string' && info !== undefined && info.path !== configured ? (
        <div class="hint">Not saved yet: the agent still uses {info.path}.</div>
      ) : null}
      {fileSummary(info)}
      <label class="upload">
        <span class="btn">Upload PEM…</span>
        <input
          type="file"
          data-testid={`upload-${testid}`}
          accept=".pem,.crt,.cer,.key,text/plain"
          onChange={(e) => void upload(e.currentTarget)}
        />
      </label>
      {message !== undefined && (
        <div
          class={message.ok ? 'upload-status ok' : 'upload-status error'}
          data-testid={`upload-status-${testid}`}
          role="status"
        >
          {message.text}
        </div>
      )}
    </div>
  );
}

/**
 * The file cards of the security settings at `prefix` for TLS mode `mode`, with what the
 * agent's current files hold (`GET /api/files`).
 */
function TlsFileCards({ prefix, mode }: { prefix: string; mode: string }) {
  const [files, setFiles] = useState<TlsFiles>({});
  const [filesError, setFilesError] = useState<string | undefined>();
  useEffect(() => {
    api<FilesAnswer>('GET', '/api/files')
      .then((answer) => setFiles((prefix === 'security' ? answer : answer?.backup) ?? {}))
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401) return;
        setFilesError(error instanceof Error ? error.message : String(error));
      });
  }, [prefix]);
  const kinds = filesOf(mode);
  return (
    <>
      {filesError !== undefined && <div class="banner banner-error">{filesError}</div>}
      {kinds.length > 0 && (
        <div class="file-grid">
          {kinds.map((kind) => (
            <FileField
              key={kind}
              prefix={prefix}
              kind={kind}
              info={files[kind]}
              onUploaded={(k, info) => setFiles((f) => ({ ...f, [k]: info }))}
            />
          ))}
        </div>
      )}
    </>
  );
}

export function SecuritySection() {
  const editor = useEditor();
  const mode = String(getAt(editor.draft, 'security.authMode') ?? 'none');
  return (
    <EditSection id="security" title="Security" intro="TLS and how the device proves who it is.">
      <div class="grid">
        <SelectField
          path="security.authMode"
          label="Authentication mode"
          options={AUTH_MODES.map((m) => ({ value: m, label: MODE_LABELS[m] ?? m }))}
        />
      </div>
      <TlsFileCards prefix="security" mode={mode} />
      {mode === 'psk' && (
        <div class="grid">
          <TextField path="security.psk.identity" label="PSK identity" also={['security.psk']} />
          <SecretField
            path="security.psk.key"
            label="PSK key"
            hint="Hexadecimal digits. Left empty, the key is not changed."
          />
        </div>
      )}
      {mode === 'none' && (
        <p class="muted">Plain TCP: nothing is encrypted. Pick a TLS mode for a public network.</p>
      )}
    </EditSection>
  );
}

export function AdminSection() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [status, setStatus] = useState<{ kind: string; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setStatus({ kind: 'busy', text: 'Changing…' });
    try {
      await api('POST', '/api/password', { body: { current, next }, quiet401: true });
      setCurrent('');
      setNext('');
      setStatus({ kind: 'ok', text: 'Saved: the admin password was changed.' });
    } catch (error) {
      const text =
        error instanceof ApiError && error.status === 401
          ? 'The current password is wrong.'
          : error instanceof ApiError && error.status === 400
            ? `The new password was refused: ${error.message}`
            : error instanceof Error
              ? error.message
              : String(error);
      setStatus({ kind: 'error', text });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section id="admin" class="panel">
      <header class="panel-head">
        <h1>Admin password</h1>
        <p class="intro">The password of this console.</p>
      </header>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div class="grid">
          <div class="field">
            <label for="admin-current">Current password</label>
            <input
              id="admin-current"
              name="current"
              type="password"
              autocomplete="current-password"
              value={current}
              onInput={(e) => setCurrent(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="admin-next">New password</label>
            <input
              id="admin-next"
              name="next"
              type="password"
              autocomplete="new-password"
              value={next}
              onInput={(e) => setNext(e.currentTarget.value)}
            />
            <div class="hint">8 to 1024 characters.</div>
          </div>
        </div>
        <div class="savebar">
          <div class="savebar-buttons">
            <button type="submit" class="btn btn-primary" data-testid="save" disabled={busy}>
              Change password
            </button>
          </div>
          <StatusLine kind={status?.kind}>{status?.text}</StatusLine>
        </div>
      </form>
    </section>
  );
}

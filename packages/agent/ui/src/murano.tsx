/**
 * The Exosite Murano card: connector, device id, provisioning state, whether a token is held
 * (never the token), the history waiting for upload, the connector's content list, and the
 * explicit re-provision action.
 */

import { useState } from 'preact/hooks';
import { ApiError, api } from './api';
import type { MuranoState } from './types';

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

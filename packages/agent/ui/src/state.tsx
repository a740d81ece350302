/** The State section: module state, counters, live channels, topic rows and messages. */

import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { Trend, useHistory } from './trend';
import type { ChannelState, ChannelValue, Counts, Message, ModuleState, Snapshot } from './types';

const STATE_CLASS: Record<string, string> = {
  CONNECTED: 'badge-ok',
  CONNECT_PND: 'badge-pending',
  DISCONNECTING: 'badge-off',
  DISCONNECTED: 'badge-bad',
  IDLE: 'badge-off',
};

export function StateBadge({ state, testId }: { state: ModuleState | string; testId?: string }) {
  return (
    <span class={`badge ${STATE_CLASS[state] ?? 'badge-off'}`} data-testid={testId}>
      {state}
    </span>
  );
}

const isDigitalType = (type: string): boolean => type.startsWith('digital');
const isOutputType = (type: string): boolean => type.endsWith('-output');

/** A number as people read it: at most 3 decimals, no trailing zeros. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return String(Math.round(value * 1000) / 1000);
}

function valueText(channel: ChannelState): string {
  const v = channel.value;
  if (v === undefined || v === null) return '—';
  if (typeof v === 'boolean') return v ? 'On' : 'Off';
  return channel.unit ? `${formatNumber(v)} ${channel.unit}` : formatNumber(v);
}

export function formatTime(at: number | undefined | null): string {
  if (at === undefined || at === null) return '—';
  const d = new Date(at);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function formatAgo(at: number, now: number): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} days`;
}

const COUNTERS: { key: keyof Counts; label: string; id: string }[] = [
  { key: 'published', label: 'Published', id: 'published' },
  { key: 'received', label: 'Received', id: 'received' },
  { key: 'rejected', label: 'Rejected', id: 'rejected' },
  { key: 'suppressed', label: 'Suppressed', id: 'suppressed' },
  { key: 'publishFailed', label: 'Publish failed', id: 'publishFailed' },
];

function ChannelControl({
  channel,
  onWritten,
}: {
  channel: ChannelState;
  onWritten: (id: number, value: ChannelValue) => void;
}) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  if (!isOutputType(channel.type)) return <span class="muted">input</span>;
  const write = async (value: ChannelValue) => {
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `/api/channels/${channel.id}`, { body: { value } });
      onWritten(channel.id, value);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (isDigitalType(channel.type)) {
    const on = channel.value === true;
    return (
      <div class="control">
        <button
          type="button"
          class={on ? 'toggle toggle-on' : 'toggle'}
          role="switch"
          aria-checked={on ? 'true' : 'false'}
          aria-label={`${channel.name}: turn ${on ? 'off' : 'on'}`}
          data-testid={`channel-toggle-${channel.id}`}
          disabled={busy}
          onClick={() => void write(!on)}
        >
          <span class="toggle-knob" />
          <span class="toggle-text">{on ? 'Turn off' : 'Turn on'}</span>
        </button>
        {error !== undefined && (
          <div class="field-error" data-testid={`channel-error-${channel.id}`}>
            {error}
          </div>
        )}
      </div>
    );
  }
  return (
    <form
      class="control control-analog"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const trimmed = text.trim();
        if (trimmed === '') return;
        const n = Number(trimmed);
        void write(Number.isFinite(n) ? n : (trimmed as unknown as number));
      }}
    >
      <input
        type="number"
        step="any"
        inputMode="decimal"
        name={`channel-${channel.id}`}
        data-testid={`channel-input-${channel.id}`}
        aria-label={`New value of ${channel.name}`}
        placeholder={`${channel.range.min}–${channel.range.max}`}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
      />
      <button
        type="submit"
        class="btn btn-small"
        data-testid={`channel-set-${channel.id}`}
        disabled={busy}
      >
        Set
      </button>
      {error !== undefined && (
        <div class="field-error" data-testid={`channel-error-${channel.id}`}>
          {error}
        </div>
      )}
    </form>
  );
}

export function StateSection({
  snapshot,
  messages,
  onChannelWritten,
}: {
  snapshot: Snapshot | undefined;
  messages: (Message & { seq?: number })[];
  onChannelWritten: (id: number, value: ChannelValue) => void;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const history = useHistory(snapshot);
  if (snapshot === undefined) {
    return (
      <section id="state" class="panel">
        <header class="panel-head">
          <h1>State</h1>
        </header>
        <p class="muted">Waiting for the agent…</p>
      </section>
    );
  }
  const counts = snapshot.counts ?? {
    published: 0,
    received: 0,
    rejected: 0,
    suppressed: 0,
    publishFailed: 0,
  };
  return (
    <section id="state" class="panel">
      <header class="panel-head">
        <h1>State</h1>
      </header>

      <div class="status-card">
        <div class="status-main">
          <StateBadge state={snapshot.moduleState} />
          <div>
            <div class="status-server mono" data-testid="server">
              {snapshot.server || '—'}
            </div>
            <div
              class="muted"
              data-testid="since"
              title={new Date(snapshot.since).toLocaleString()}
            >
              since {formatTime(snapshot.since)} ({formatAgo(snapshot.since, now)})
            </div>
          </div>
        </div>
        {snapshot.lastError ? (
          <div class="last-error" data-testid="last-error">
            <span class="label">Last error</span> {snapshot.lastError.message}
            {snapshot.lastError.code !== undefined && (
              <code class="code">{snapshot.lastError.code}</code>
            )}
            <span class="muted"> at {formatTime(snapshot.lastError.at)}</span>
          </div>
        ) : (
          <div class="muted" data-testid="last-error">
            No error
          </div>
        )}
        {snapshot.redis ? (
          <div class="muted">
            Redis {snapshot.redis.url}:{' '}
            {snapshot.redis.connected ? 'connected' : (snapshot.redis.lastError ?? 'not connected')}
          </div>
        ) : null}
      </div>

      <div class="counters">
        {COUNTERS.map((c) => (
          <div class="counter" key={c.key}>
            <div class="counter-value" data-testid={`count-${c.id}`}>
              {counts[c.key] ?? 0}
            </div>
            <div class="counter-label">{c.label}</div>
          </div>
        ))}
      </div>

      <h2>Message rate</h2>
      <div class="rate-chart">
        <Trend
          series={history.rate}
          testId="rate-chart"
          label="Messages per second (published + received)"
          compact={false}
        />
        <div class="muted small">messages per second, published + received</div>
      </div>

      <h2>Channels</h2>
      <div class="table-scroll">
        <table class="data-table">
          <thead>
            <tr>
              <th>Id</th>
              <th>Name</th>
              <th>Value</th>
              <th>Trend</th>
              <th>Control</th>
            </tr>
          </thead>
          <tbody>
            {snapshot.channels.length === 0 && (
              <tr>
                <td colSpan={5} class="empty">
                  No channels.
                </td>
              </tr>
            )}
            {snapshot.channels.map((ch) => (
              <tr key={ch.id} data-testid={`channel-${ch.id}`}>
                <td class="num">{ch.id}</td>
                <td>
                  <div class="ch-name">{ch.name}</div>
                  <div class="muted small">{ch.type}</div>
                </td>
                <td
                  class={
                    typeof ch.value === 'boolean'
                      ? ch.value
                        ? 'value value-on'
                        : 'value value-off'
                      : 'value'
                  }
                  data-testid={`channel-value-${ch.id}`}
                  data-value={typeof ch.value === 'boolean' ? String(ch.value) : undefined}
                >
                  {valueText(ch)}
                  {ch.quality !== undefined && ch.quality !== 'good' && (
                    <div
                      class={`badge ${ch.quality === 'bad' ? 'badge-bad' : 'badge-pending'}`}
                      title={ch.reason}
                      data-testid={`channel-quality-${ch.id}`}
                    >
                      {ch.quality}
                    </div>
                  )}
                  {ch.quality !== undefined && ch.quality !== 'good' && ch.reason && (
                    <div class="muted small">{ch.reason}</div>
                  )}
                </td>
                <td>
                  <Trend
                    series={history.channels.get(ch.id)}
                    testId={`channel-trend-${ch.id}`}
                    label={`Recent values of ${ch.name}`}
                    stepped={isDigitalType(ch.type)}
                  />
                </td>
                <td>
                  <ChannelControl channel={ch} onWritten={onChannelWritten} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Topics</h2>
      <div class="table-scroll">
        <table class="data-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Topic</th>
              <th>Direction</th>
              <th>Last payload</th>
              <th class="num">Published</th>
              <th class="num">Received</th>
              <th class="num">Rejected</th>
            </tr>
          </thead>
          <tbody>
            {snapshot.rows.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  No topic rows.
                </td>
              </tr>
            )}
            {snapshot.rows.map((row) => (
              <tr
                key={row.index}
                data-testid={`row-state-${row.index}`}
                class={row.enabled ? undefined : 'row-off'}
              >
                <td class="num">{row.index}</td>
                <td class="mono">{row.topic}</td>
                <td>
                  <span class={`dir dir-${row.direction === 'subscribe' ? 'in' : 'out'}`}>
                    {row.direction}
                  </span>
                  {!row.enabled && <span class="muted"> (off)</span>}
                </td>
                <td class="mono payload">
                  {row.lastPayload ?? <span class="muted">—</span>}
                  {row.lastAt ? <div class="muted small">{formatTime(row.lastAt)}</div> : null}
                  {row.lastError ? <div class="field-error">{row.lastError}</div> : null}
                </td>
                <td class="num">{row.published}</td>
                <td class="num">{row.received}</td>
                <td class="num">{row.rejected}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Messages</h2>
      <ul class="messages" data-testid="messages">
        {messages.length === 0 && <li class="empty muted">No messages yet.</li>}
        {messages.map((m, i) => (
          <li
            key={m.seq ?? `${m.at}-${i}`}
            class={`message message-${m.dir} status-${m.status}`}
            data-testid="message"
            data-dir={m.dir}
            data-status={m.status}
          >
            <span class={`dir dir-${m.dir}`}>{m.dir === 'in' ? '← in' : '→ out'}</span>
            <span class="msg-time muted">{formatTime(m.at)}</span>
            <span class="msg-topic mono">{m.topic}</span>
            <span class="msg-payload mono">{m.payload}</span>
            {m.status !== 'ok' && (
              <span class="msg-status">
                {m.status}
                {m.reason ? `: ${m.reason}` : ''}
              </span>
            )}
            {m.source === 'redis' && <span class="pill">redis</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The Courier console: login, hash routing, the live state and the configuration editor. */

import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, api, setCsrfToken, setUnauthorizedHandler } from './api';
import { DeviceSection } from './device';
import { type Editor, EditorContext, type SaveStatus } from './editor';
import { MuranoSection } from './murano';
import { clone, setAt, stableJson } from './paths';
import { RedisSection } from './redis';
import {
  AdminSection,
  ConnectionSection,
  LoginSection,
  LwtSection,
  OptionsSection,
  SecuritySection,
} from './sections';
import { StateBadge, StateSection } from './state';
import { TopicsSection } from './topics';
import type {
  AgentConfig,
  AgentEvent,
  ChannelValue,
  ConfigAnswer,
  ConfigIssue,
  Message,
  SessionAnswer,
  Snapshot,
} from './types';

const ROUTES = [
  { id: 'state', label: 'State' },
  { id: 'connection', label: 'Connection' },
  { id: 'options', label: 'Options' },
  { id: 'lwt', label: 'LWT' },
  { id: 'login', label: 'Login' },
  { id: 'security', label: 'Security' },
  { id: 'topics', label: 'Topics' },
  { id: 'device', label: 'Device' },
  { id: 'redis', label: 'Redis' },
  { id: 'murano', label: 'Murano' },
  { id: 'admin', label: 'Admin' },
] as const;

type Route = (typeof ROUTES)[number]['id'];

const routeOf = (hash: string): Route => {
  const name = hash.replace(/^#\/?/, '').split(/[/?]/)[0] ?? '';
  return ROUTES.find((r) => r.id === name)?.id ?? 'state';
};

function useRoute(): Route {
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

const MAX_MESSAGES = 100;

type LoggedMessage = Message & { seq: number };
let messageSeq = 0;
const logged = (m: Message): LoggedMessage => {
  messageSeq += 1;
  return { ...m, seq: messageSeq };
};

const PUBLISH_ONLY = ['pubIntervalMs', 'threshold', 'deadband'] as const;

/**
 * Subscribe rows carry no publish settings: the server refuses them there, and the answer
 * may hold them filled in with their defaults.
 */
function normalize(config: AgentConfig): AgentConfig {
  const copy = clone(config);
  if (Array.isArray(copy.topics)) {
    copy.topics = copy.topics.map((row) => {
      if (row?.direction !== 'subscribe') return row;
      const trimmed = { ...row };
      for (const key of PUBLISH_ONLY) delete trimmed[key];
      return trimmed;
    });
  }
  return copy;
}

/** The body of a save: the draft, with the secrets the user typed or removed. */
function configToSend(draft: AgentConfig, edits: Record<string, string | null>): AgentConfig {
  let config = normalize(draft);
  for (const [key, value] of Object.entries(edits)) config = setAt(config, key, value);
  return config;
}

const errorText = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

function savedText(answer: ConfigAnswer, verb: string): SaveStatus {
  const how =
    answer.applied === 'reconnected'
      ? ', reconnected'
      : answer.applied === 'unchanged'
        ? ' (nothing changed)'
        : '';
  const restart = answer.restartRequired ?? [];
  return {
    kind: 'ok',
    text: `${verb}${how}.`,
    note:
      restart.length > 0
        ? `Takes effect at the next start of the agent: ${restart.join(', ')}.`
        : undefined,
  };
}

function Console({ device, onLogout }: { device: string; onLogout: () => void }) {
  const route = useRoute();
  useEffect(() => {
    // On a phone the nav scrolls sideways: keep the current section's link in view.
    document
      .querySelector('.nav a.active')
      ?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
    window.scrollTo?.(0, 0);
  }, [route]);
  const [snapshot, setSnapshot] = useState<Snapshot | undefined>();
  const [messages, setMessages] = useState<LoggedMessage[]>([]);
  const [live, setLive] = useState<'connecting' | 'live' | 'lost'>('connecting');
  const [answer, setAnswer] = useState<ConfigAnswer | undefined>();
  const [base, setBase] = useState<AgentConfig | undefined>();
  const [draft, setDraft] = useState<AgentConfig | undefined>();
  const [secretEdits, setSecretEdits] = useState<Record<string, string | null>>({});
  const [issues, setIssues] = useState<ConfigIssue[]>([]);
  const [status, setStatus] = useState<SaveStatus | undefined>();
  const [busy, setBusy] = useState(false);
  const [stale, setStale] = useState(false);
  const [loadError, setLoadError] = useState<string | undefined>();

  const dirty =
    draft !== undefined &&
    base !== undefined &&
    (stableJson(draft) !== stableJson(base) || Object.keys(secretEdits).length > 0);
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const busyRef = useRef(busy);
  busyRef.current = busy;

  const loadAnswer = useCallback((next: ConfigAnswer) => {
    const config = normalize(next.config);
    setAnswer(next);
    setBase(config);
    setDraft(clone(config));
    setSecretEdits({});
    setIssues([]);
    setStale(false);
  }, []);

  const fetchConfig = useCallback(
    async (replace: boolean) => {
      try {
        const next = await api<ConfigAnswer>('GET', '/api/config');
        setLoadError(undefined);
        if (replace || !dirtyRef.current) loadAnswer(next);
        else {
          // Keep the user's edits; say that the agent's configuration moved on.
          setAnswer(next);
          setBase(normalize(next.config));
          setStale(true);
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return;
        setLoadError(`Cannot load the configuration: ${errorText(error)}`);
      }
    },
    [loadAnswer],
  );

  // The configuration, the state and the message log, then the live events.
  useEffect(() => {
    let closed = false;
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const onEvent = (event: AgentEvent) => {
      switch (event.type) {
        case 'channel':
          setSnapshot((s) =>
            s === undefined
              ? s
              : {
                  ...s,
                  channels: s.channels.map((c) =>
                    c.id === event.id
                      ? {
                          ...c,
                          value: event.value,
                          quality: event.quality ?? 'good',
                          reason: event.reason,
                        }
                      : c,
                  ),
                },
          );
          break;
        case 'state':
          setSnapshot((s) =>
            s === undefined
              ? s
              : {
                  ...s,
                  moduleState: event.state,
                  server: event.server ?? s.server,
                  since: event.at,
                  lastError:
                    event.error === undefined
                      ? s.lastError
                      : { message: event.error, at: event.at },
                },
          );
          break;
        case 'error':
          setSnapshot((s) =>
            s === undefined
              ? s
              : { ...s, lastError: { message: event.message, code: event.code, at: event.at } },
          );
          break;
        case 'config-applied':
          if (!busyRef.current) void fetchConfig(false);
          break;
        default:
          break;
      }
    };

    const connect = () => {
      if (closed) return;
      const es = new EventSource('/api/events');
      source = es;
      es.addEventListener('open', () => setLive('live'));
      es.addEventListener('snapshot', (e) => {
        try {
          setSnapshot(JSON.parse((e as MessageEvent<string>).data) as Snapshot);
          setLive('live');
        } catch {
          // A broken frame: the next snapshot comes in 2 seconds.
        }
      });
      es.addEventListener('agent', (e) => {
        try {
          onEvent(JSON.parse((e as MessageEvent<string>).data) as AgentEvent);
        } catch {
          // Ignore a frame that is not JSON.
        }
      });
      es.addEventListener('message', (e) => {
        try {
          const message = JSON.parse((e as MessageEvent<string>).data) as Message;
          setMessages((list) => [logged(message), ...list].slice(0, MAX_MESSAGES));
        } catch {
          // Ignore a frame that is not JSON.
        }
      });
      es.addEventListener('error', () => {
        if (es.readyState !== EventSource.CLOSED) {
          setLive('lost');
          return;
        }
        // Refused (401, 5xx): find out whether the session is still there, then retry.
        setLive('lost');
        es.close();
        api<SessionAnswer>('GET', '/api/session')
          .then((session) => {
            if (!session.authenticated) onLogout();
            else if (!closed) retry = setTimeout(connect, 3000);
          })
          .catch(() => {
            if (!closed) retry = setTimeout(connect, 3000);
          });
      });
    };

    void fetchConfig(true);
    api<Snapshot>('GET', '/api/state')
      .then((s) => setSnapshot((current) => current ?? s))
      .catch(() => undefined);
    api<{ messages: Message[] }>('GET', '/api/messages')
      .then((answer) => {
        const past = (answer?.messages ?? []).slice(-MAX_MESSAGES).reverse().map(logged);
        setMessages((list) => [...list, ...past].slice(0, MAX_MESSAGES));
      })
      .catch(() => undefined)
      .finally(connect);

    return () => {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      source?.close();
    };
  }, [fetchConfig, onLogout]);

  const save = useCallback(
    async (kind: 'save' | 'rollback') => {
      if (draft === undefined) return;
      setBusy(true);
      busyRef.current = true;
      setStatus({ kind: 'busy', text: kind === 'save' ? 'Saving…' : 'Rolling back…' });
      try {
        const next =
          kind === 'save'
            ? await api<ConfigAnswer>('PUT', '/api/config', {
                body: { config: configToSend(draft, secretEdits) },
              })
            : await api<ConfigAnswer>('POST', '/api/config/rollback');
        loadAnswer(next);
        setStatus(
          savedText(next, kind === 'save' ? 'Saved and applied' : 'Rolled back, saved and applied'),
        );
      } catch (error) {
        const found = error instanceof ApiError ? error.body.issues : undefined;
        if (error instanceof ApiError && Array.isArray(found)) {
          const list = (found as ConfigIssue[]).filter(
            (i) => typeof i?.path === 'string' && typeof i?.message === 'string',
          );
          setIssues(list);
          const n = list.length;
          setStatus({
            kind: 'error',
            text: `${n} ${n === 1 ? 'problem' : 'problems'}: nothing was saved.`,
          });
        } else if (error instanceof ApiError && error.status === 409) {
          setStatus({ kind: 'error', text: 'There is nothing to roll back to.' });
        } else {
          setStatus({ kind: 'error', text: `Not saved: ${errorText(error)}` });
        }
      } finally {
        setBusy(false);
        busyRef.current = false;
      }
    },
    [draft, secretEdits, loadAnswer],
  );

  const editor: Editor | undefined = useMemo(() => {
    if (draft === undefined || answer === undefined) return undefined;
    return {
      draft,
      secrets: answer.secrets ?? {},
      secretEdits,
      issues,
      status,
      dirty,
      previous: answer.previous === true,
      file: answer.file,
      stale,
      busy,
      set: (path, value) => {
        setDraft((d) => (d === undefined ? d : setAt(d, path, value)));
        setStatus((s) => (s?.kind === 'busy' ? s : undefined));
      },
      update: (change, dropIssues) => {
        setDraft((d) => (d === undefined ? d : change(d)));
        setStatus(undefined);
        if (dropIssues !== undefined) {
          setIssues((list) => list.filter((i) => !i.path.startsWith(dropIssues)));
        }
      },
      setSecret: (key, value) => {
        setSecretEdits((edits) => {
          const copy = { ...edits };
          if (value === undefined) delete copy[key];
          else copy[key] = value;
          return copy;
        });
        setStatus(undefined);
      },
      save: () => void save('save'),
      rollback: () => void save('rollback'),
      discard: () => {
        if (answer !== undefined) loadAnswer(answer);
        setStatus({ kind: 'info', text: 'Changes discarded.' });
      },
      notify: setStatus,
    };
  }, [draft, answer, secretEdits, issues, status, dirty, stale, busy, save, loadAnswer]);

  const onChannelWritten = useCallback((id: number, value: ChannelValue) => {
    setSnapshot((s) =>
      s === undefined
        ? s
        : { ...s, channels: s.channels.map((c) => (c.id === id ? { ...c, value } : c)) },
    );
  }, []);

  const logout = async () => {
    try {
      await api('POST', '/api/logout');
    } catch {
      // Gone either way.
    }
    onLogout();
  };

  const name = snapshot?.device || device || answer?.config.device?.name || 'Courier';
  const moduleState = snapshot?.moduleState;

  let body: preact.ComponentChildren;
  if (route === 'state') {
    body = (
      <StateSection snapshot={snapshot} messages={messages} onChannelWritten={onChannelWritten} />
    );
  } else if (route === 'admin') {
    body = <AdminSection />;
  } else if (editor === undefined) {
    body = (
      <section id={route} class="panel">
        <p class={loadError ? 'banner banner-error' : 'muted'}>
          {loadError ?? 'Loading the configuration…'}
        </p>
      </section>
    );
  } else {
    const Section = {
      connection: ConnectionSection,
      options: OptionsSection,
      lwt: LwtSection,
      login: LoginSection,
      security: SecuritySection,
      topics: TopicsSection,
      device: DeviceSection,
      redis: RedisSection,
      murano: MuranoSection,
    }[route];
    body = (
      <EditorContext.Provider value={editor}>
        <Section />
      </EditorContext.Provider>
    );
  }

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <div class="brand-text">
            <span class="brand-name">Courier</span>
            <span class="device-name" data-testid="device-name" title={name}>
              {name}
            </span>
          </div>
        </div>
        <div class="topbar-right">
          {moduleState !== undefined ? (
            <StateBadge state={moduleState} testId="module-state" />
          ) : (
            <span class="badge badge-off" data-testid="module-state">
              …
            </span>
          )}
          <span
            class={`live-dot live-${live}`}
            title={live === 'live' ? 'Live' : live === 'lost' ? 'Reconnecting…' : 'Connecting…'}
          />
          <button
            type="button"
            class="btn btn-ghost"
            data-testid="logout"
            onClick={() => void logout()}
          >
            Log out
          </button>
        </div>
      </header>
      <nav class="nav" aria-label="Sections">
        {ROUTES.map((r) => (
          <a
            key={r.id}
            href={`#/${r.id}`}
            class={route === r.id ? 'active' : undefined}
            aria-current={route === r.id ? 'page' : undefined}
          >
            {r.label}
            {editor?.dirty && r.id !== 'state' && r.id !== 'admin' && r.id === route ? (
              <span class="dirty-dot" title="Unsaved changes" />
            ) : null}
          </a>
        ))}
      </nav>
      <main class="content">{body}</main>
    </div>
  );
}

function LoginScreen({ device, onLogin }: { device: string; onLogin: (token: string) => void }) {
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api<{ csrfToken: string }>('POST', '/api/login', {
        body: { password },
        quiet401: true,
      });
      onLogin(answer.csrfToken);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setError('Wrong password.');
      else if (e instanceof ApiError && e.status === 429) {
        const after = e.body.retryAfterSec;
        setError(
          typeof after === 'number'
            ? `Too many attempts. Try again in ${Math.ceil(after / 60)} min.`
            : 'Too many attempts. Try again later.',
        );
      } else setError(errorText(e));
      setBusy(false);
    }
  };
  return (
    <main class="login-page">
      <form
        class="login-card"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div class="brand login-brand">
          <span class="logo" aria-hidden="true" />
          <div class="brand-text">
            <span class="brand-name">Courier</span>
            {device !== '' && <span class="device-name">{device}</span>}
          </div>
        </div>
        <h1>Sign in to the console</h1>
        <label for="password">Admin password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          aria-invalid={error !== undefined ? 'true' : undefined}
        />
        {error !== undefined && (
          <div class="login-error" data-testid="login-error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" class="btn btn-primary btn-block" data-testid="login" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const deviceName = (session: SessionAnswer): string => {
  const d = session.device;
  if (typeof d === 'string') return d;
  if (d && typeof d === 'object' && typeof d.name === 'string') return d.name;
  return '';
};

function App() {
  const [phase, setPhase] = useState<'checking' | 'out' | 'in' | 'error'>('checking');
  const [device, setDevice] = useState('');
  const [error, setError] = useState<string | undefined>();

  const checkSession = useCallback(async () => {
    try {
      const session = await api<SessionAnswer>('GET', '/api/session');
      setDevice(deviceName(session));
      if (session.authenticated) {
        setCsrfToken(session.csrfToken);
        setPhase('in');
      } else {
        setCsrfToken(undefined);
        setPhase('out');
      }
    } catch (e) {
      setError(errorText(e));
      setPhase('error');
    }
  }, []);

  const loggedOut = useCallback(() => {
    setCsrfToken(undefined);
    setPhase('out');
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(loggedOut);
    void checkSession();
  }, [checkSession, loggedOut]);

  useEffect(() => {
    document.title = device ? `${device} · Courier` : 'Courier console';
  }, [device]);

  if (phase === 'checking') return <div class="splash muted">Loading…</div>;
  if (phase === 'error') {
    return (
      <main class="login-page">
        <div class="login-card">
          <h1>Cannot reach the agent</h1>
          <p class="login-error">{error}</p>
          <button type="button" class="btn btn-primary" onClick={() => void checkSession()}>
            Try again
          </button>
        </div>
      </main>
    );
  }
  if (phase === 'out') {
    return (
      <LoginScreen
        device={device}
        onLogin={(token) => {
          setCsrfToken(token);
          setPhase('in');
          // The session answer names the device.
          api<SessionAnswer>('GET', '/api/session')
            .then((s) => {
              setDevice(deviceName(s));
              if (s.csrfToken) setCsrfToken(s.csrfToken);
            })
            .catch(() => undefined);
        }}
      />
    );
  }
  return <Console device={device} onLogout={loggedOut} />;
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);

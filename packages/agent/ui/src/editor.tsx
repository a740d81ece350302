/**
 * The editing model: one draft of the configuration shared by every section, the secret
 * fields typed by the user, the issues of the last refused save, and the form controls that
 * read and write the draft by path.
 */

import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { getAt } from './paths';
import type { AgentConfig, ConfigIssue } from './types';

/** What a save, a rollback or a discard said. */
export interface SaveStatus {
  kind: 'ok' | 'error' | 'info' | 'busy';
  text: string;
  note?: string;
}

export interface Editor {
  draft: AgentConfig;
  secrets: Record<string, boolean>;
  /** Secret fields the user touched: a new value, or null to remove it. */
  secretEdits: Record<string, string | null>;
  issues: ConfigIssue[];
  status: SaveStatus | undefined;
  dirty: boolean;
  previous: boolean;
  file: string | null | undefined;
  /** The configuration changed on the agent while the draft had unsaved edits. */
  stale: boolean;
  busy: boolean;
  set(path: string, value: unknown): void;
  update(change: (draft: AgentConfig) => AgentConfig, dropIssues?: string): void;
  setSecret(key: string, value: string | null | undefined): void;
  save(): void;
  discard(): void;
  rollback(): void;
  notify(status: SaveStatus | undefined): void;
}

export const EditorContext = createContext<Editor | undefined>(undefined);

export function useEditor(): Editor {
  const editor = useContext(EditorContext);
  if (editor === undefined) throw new Error('no editor');
  return editor;
}

/** The issues of one path. */
function issuesOf(editor: Editor, paths: readonly string[]): ConfigIssue[] {
  return editor.issues.filter((issue) => paths.includes(issue.path));
}

/** The messages shown under a field, each tagged with the path it belongs to. */
export function FieldErrors({ paths }: { paths: readonly string[] }) {
  const editor = useEditor();
  const found = issuesOf(editor, paths);
  if (found.length === 0) return null;
  return (
    <>
      {paths.map((path) => {
        const messages = found.filter((i) => i.path === path).map((i) => i.message);
        if (messages.length === 0) return null;
        return (
          <div class="field-error" data-error-for={path} role="alert" key={path}>
            {messages.join('; ')}
          </div>
        );
      })}
    </>
  );
}

interface FieldProps {
  path: string;
  label: string;
  hint?: ComponentChildren;
  /** Extra issue paths shown with this field (e.g. `security.psk` on the identity). */
  also?: readonly string[];
  /** Inside a table cell: no visible label. */
  compact?: boolean;
  /** A compact checkbox that still shows its label after the box. */
  inlineLabel?: boolean;
  disabled?: boolean;
}

/** The frame of a labelled control: label, control, errors, hint. */
function Frame(props: FieldProps & { id: string; children: ComponentChildren; check?: boolean }) {
  const paths = [props.path, ...(props.also ?? [])];
  if (props.compact) {
    return (
      <div class="cell-field" data-paths={props.also?.join(' ')}>
        {props.inlineLabel ? (
          <label class="check small" for={props.id}>
            {props.children}
            <span>{props.label}</span>
          </label>
        ) : (
          props.children
        )}
        <FieldErrors paths={paths} />
      </div>
    );
  }
  return (
    <div class={props.check ? 'field field-check' : 'field'} data-paths={props.also?.join(' ')}>
      {props.check ? (
        <label class="check" for={props.id}>
          {props.children}
          <span>{props.label}</span>
        </label>
      ) : (
        <>
          <label for={props.id}>{props.label}</label>
          {props.children}
        </>
      )}
      <FieldErrors paths={paths} />
      {props.hint !== undefined && <div class="hint">{props.hint}</div>}
    </div>
  );
}

const invalid = (editor: Editor, paths: readonly string[]): 'true' | undefined =>
  issuesOf(editor, paths).length > 0 ? 'true' : undefined;

/** A text input. `emptyAs` says what an empty box means (default: the empty string). */
export function TextField(
  props: FieldProps & { placeholder?: string; emptyAs?: 'undefined' | 'empty'; wide?: boolean },
) {
  const editor = useEditor();
  const id = useId();
  const value = getAt(editor.draft, props.path);
  return (
    <Frame {...props} id={id}>
      <input
        id={id}
        type="text"
        name={props.path}
        class={props.wide ? 'wide' : undefined}
        value={value === undefined || value === null ? '' : String(value)}
        placeholder={props.placeholder}
        aria-label={props.compact ? props.label : undefined}
        aria-invalid={invalid(editor, [props.path, ...(props.also ?? [])])}
        disabled={props.disabled}
        autocomplete="off"
        spellcheck={false}
        onInput={(e) => {
          const text = e.currentTarget.value;
          editor.set(props.path, text === '' && props.emptyAs === 'undefined' ? undefined : text);
        }}
      />
    </Frame>
  );
}

/** The number a number box holds: empty → undefined, a number, or the text as typed. */
export function toNumber(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : text;
}

/**
 * A number input. No min/max: the server validates, so an out-of-range value reaches it and
 * comes back as an issue. The box keeps its own text while typing ("1." stays "1.").
 */
export function NumberField(props: FieldProps & { placeholder?: string; step?: string }) {
  const editor = useEditor();
  const id = useId();
  const value = getAt(editor.draft, props.path);
  const shown = value === undefined || value === null ? '' : String(value);
  const [text, setText] = useState(shown);
  // The box shows what was typed while it still means the draft's value ("1." for 1); when
  // the draft changed elsewhere (discard, reload, a row moved) it shows the draft.
  const own =
    toNumber(text) === (value ?? undefined) || (typeof value === 'number' && Number.isNaN(value));
  const display = own ? text : shown;
  return (
    <Frame {...props} id={id}>
      <input
        id={id}
        type="number"
        name={props.path}
        step={props.step ?? 'any'}
        inputMode="decimal"
        value={display}
        placeholder={props.placeholder}
        aria-label={props.compact ? props.label : undefined}
        aria-invalid={invalid(editor, [props.path, ...(props.also ?? [])])}
        disabled={props.disabled}
        onInput={(e) => {
          const input = e.currentTarget;
          setText(input.value);
          // Text the browser cannot read as a number still goes to the server, which says why.
          editor.set(
            props.path,
            input.validity.badInput ? Number.NaN : (toNumber(input.value) ?? undefined),
          );
        }}
      />
    </Frame>
  );
}

/** A checkbox. */
export function CheckField(props: FieldProps & { defaultValue?: boolean }) {
  const editor = useEditor();
  const id = useId();
  const value = getAt(editor.draft, props.path);
  const checked = typeof value === 'boolean' ? value : (props.defaultValue ?? false);
  return (
    <Frame {...props} id={id} check={!props.compact}>
      <input
        id={id}
        type="checkbox"
        name={props.path}
        checked={checked}
        aria-label={props.compact && !props.inlineLabel ? props.label : undefined}
        aria-invalid={invalid(editor, [props.path, ...(props.also ?? [])])}
        disabled={props.disabled}
        onChange={(e) => editor.set(props.path, e.currentTarget.checked)}
      />
    </Frame>
  );
}

export interface Option {
  value: string;
  label: string;
}

/** A select; `parse` turns the chosen option back into the draft's value. */
export function SelectField(
  props: FieldProps & {
    options: readonly Option[];
    parse?: (value: string) => unknown;
    onPick?: (value: string) => void;
  },
) {
  const editor = useEditor();
  const id = useId();
  const value = getAt(editor.draft, props.path);
  const current = value === undefined || value === null ? '' : String(value);
  const options = props.options.some((o) => o.value === current)
    ? props.options
    : [
        { value: current, label: current === '' ? '(choose)' : `${current} (unknown)` },
        ...props.options,
      ];
  return (
    <Frame {...props} id={id}>
      <select
        id={id}
        name={props.path}
        value={current}
        aria-label={props.compact ? props.label : undefined}
        aria-invalid={invalid(editor, [props.path, ...(props.also ?? [])])}
        disabled={props.disabled}
        onChange={(e) => {
          const picked = e.currentTarget.value;
          if (props.onPick !== undefined) props.onPick(picked);
          else editor.set(props.path, props.parse === undefined ? picked : props.parse(picked));
        }}
      >
        {options.map((o) => (
          <option value={o.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </Frame>
  );
}

/**
 * A secret (password, PSK): the box starts empty, says whether a value is set, and offers to
 * remove it. Left empty, the secret is left out of the save and keeps its value.
 */
export function SecretField(props: FieldProps & { secretKey?: string }) {
  const editor = useEditor();
  const id = useId();
  const key = props.secretKey ?? props.path;
  const edit = editor.secretEdits[key];
  const isSet = editor.secrets[key] === true;
  const removing = edit === null;
  return (
    <Frame {...props} id={id}>
      <input
        id={id}
        type="password"
        name={props.path}
        value={typeof edit === 'string' ? edit : ''}
        placeholder={removing ? 'will be removed' : isSet ? 'unchanged' : 'not set'}
        autocomplete="new-password"
        aria-invalid={invalid(editor, [props.path, ...(props.also ?? [])])}
        disabled={removing}
        onInput={(e) => {
          const text = e.currentTarget.value;
          editor.setSecret(key, text === '' ? undefined : text);
        }}
      />
      <div class="secret-row">
        <span class={isSet ? 'pill pill-ok' : 'pill'}>{isSet ? 'set' : 'not set'}</span>
        {(isSet || removing) && (
          <label class="check small">
            <input
              type="checkbox"
              data-testid={`remove-${key}`}
              checked={removing}
              onChange={(e) => editor.setSecret(key, e.currentTarget.checked ? null : undefined)}
            />
            <span>Remove {props.label.toLowerCase()}</span>
          </label>
        )}
      </div>
    </Frame>
  );
}

const OPTIONS_FIELDS = [
  'ipv4',
  'ipv6',
  'dns',
  'cleanSession',
  'keepaliveSec',
  'protocolVersion',
  'sessionExpirySec',
];

/** The route whose page shows the field at `path`, if one does. */
export function routeOfPath(path: string): string | undefined {
  const [section, field] = path.split(/[.[]/);
  if (section === 'connection') {
    return OPTIONS_FIELDS.includes(field ?? '') ? 'options' : 'connection';
  }
  if (section === 'reconnect') return 'options';
  if (
    section === 'lwt' ||
    section === 'login' ||
    section === 'security' ||
    section === 'topics' ||
    section === 'device' ||
    section === 'redis' ||
    section === 'murano'
  ) {
    return section;
  }
  if (section === 'backup') return 'connection';
  if (section === 'limits') return 'device';
  return undefined;
}

/** Issues that no field of the section shows. */
function Unmatched({ root }: { root: { current: HTMLElement | null } }) {
  const editor = useEditor();
  const [visible, setVisible] = useState<string>('');
  useLayoutEffect(() => {
    const names = new Set<string>();
    root.current?.querySelectorAll('[name]').forEach((el) => {
      const name = el.getAttribute('name');
      if (name !== null) names.add(name);
    });
    root.current?.querySelectorAll('[data-paths]').forEach((el) => {
      for (const p of (el.getAttribute('data-paths') ?? '').split(' ')) if (p !== '') names.add(p);
    });
    const key = [...names].sort().join('\n');
    if (key !== visible) setVisible(key);
  });
  const names = new Set(visible.split('\n'));
  const rest = editor.issues.filter((issue) => !names.has(issue.path));
  if (rest.length === 0) return null;
  return (
    <div class="banner banner-error" data-testid="other-issues" role="alert">
      <strong>
        {rest.length === 1 ? 'One problem' : `${rest.length} problems`} outside this page:
      </strong>
      <ul>
        {rest.map((issue) => (
          <li key={`${issue.path}:${issue.message}`} data-issue-path={issue.path}>
            {routeOfPath(issue.path) === undefined ? (
              <code>{issue.path}</code>
            ) : (
              <a href={`#/${routeOfPath(issue.path)}`}>
                <code>{issue.path}</code>
              </a>
            )}{' '}
            {issue.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The ✕ that removes a table row. */
export function RemoveButton(props: { testid: string; label: string; onClick: () => void }) {
  return (
    <button
      type="button"
      class="icon-btn danger"
      data-testid={props.testid}
      title="Remove"
      aria-label={props.label}
      onClick={props.onClick}
    >
      ✕
    </button>
  );
}

/** The `save-status` line under a form: what the last action said. */
export function StatusLine({
  kind,
  children,
}: {
  kind: string | undefined;
  children: ComponentChildren;
}) {
  return (
    <div
      class={`save-status ${kind === undefined ? '' : `status-${kind}`}`}
      data-testid="save-status"
      role="status"
      aria-live="polite"
    >
      {children}
    </div>
  );
}

/** The save bar: Save, Discard, Roll back and what happened. */
export function SaveBar() {
  const editor = useEditor();
  const status = editor.status;
  return (
    <div class="savebar">
      <div class="savebar-buttons">
        <button type="submit" class="btn btn-primary" data-testid="save" disabled={editor.busy}>
          Save
        </button>
        <button
          type="button"
          class="btn"
          data-testid="discard"
          disabled={editor.busy}
          onClick={() => editor.discard()}
        >
          Discard changes
        </button>
        <button
          type="button"
          class="btn"
          data-testid="rollback"
          disabled={editor.busy || !editor.previous}
          title={
            editor.previous
              ? 'Restore the configuration replaced by the last save'
              : 'Nothing to roll back to'
          }
          onClick={() => editor.rollback()}
        >
          Roll back
        </button>
      </div>
      <StatusLine kind={status?.kind}>
        {status === undefined ? (editor.dirty ? 'Unsaved changes' : '') : status.text}
        {status?.note !== undefined && <div class="save-note">{status.note}</div>}
      </StatusLine>
    </div>
  );
}

/** An editable section: title, stray issues, the form and its save bar. */
export function EditSection(props: {
  id: string;
  title: string;
  intro?: ComponentChildren;
  children: ComponentChildren;
}) {
  const editor = useEditor();
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.scrollIntoView?.({
      block: 'nearest',
    });
  }, [editor.issues]);
  return (
    <section id={props.id} ref={ref} class="panel">
      <header class="panel-head">
        <h1>{props.title}</h1>
        {props.intro !== undefined && <p class="intro">{props.intro}</p>}
      </header>
      {editor.stale && (
        <div class="banner banner-info">
          The configuration was changed on the agent. Discard your changes to load it.
        </div>
      )}
      <Unmatched root={ref} />
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          editor.save();
        }}
      >
        {props.children}
        <SaveBar />
      </form>
    </section>
  );
}

/**
 * The MQTT 5 User Properties at `<at>.userProperties` (a topic row's, the Will's): name and
 * value pairs in order, a name may repeat; added and removed here, none leaves the key out.
 */
export function UserPropertyPairs({ at }: { at: string }) {
  const editor = useEditor();
  const pairs = (getAt(editor.draft, `${at}.userProperties`) ?? []) as {
    name: string;
    value: string;
  }[];
  const setPairs = (next: { name: string; value: string }[]) =>
    editor.set(`${at}.userProperties`, next.length === 0 ? undefined : next);
  return (
    <>
      {pairs.map((_pair, i) => (
        <div class="format-opts" key={`${at}-up-${i}`}>
          <TextField
            compact
            path={`${at}.userProperties[${i}].name`}
            label={`User property ${i + 1} name`}
            placeholder="name"
          />
          <TextField
            compact
            path={`${at}.userProperties[${i}].value`}
            label={`User property ${i + 1} value`}
            placeholder="value"
          />
          <RemoveButton
            testid={`${at}-up-${i}-remove`}
            label={`Remove user property ${i + 1}`}
            onClick={() => setPairs(pairs.filter((_, j) => j !== i))}
          />
        </div>
      ))}
      <button
        type="button"
        class="btn btn-ghost"
        data-testid={`${at}-up-add`}
        onClick={() => setPairs([...pairs, { name: '', value: '' }])}
      >
        + user property
      </button>
    </>
  );
}

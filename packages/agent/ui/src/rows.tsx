/**
 * An editable table of configuration rows (the topic table, the Redis Devices and Signals): a
 * row per item with its fields, a remove button, optional move buttons, and an add button.
 *
 * Test ids, for a table named `name`: `${name}-row-${i}`, `remove-${name}-${i}`,
 * `up-${name}-${i}`, `down-${name}-${i}` and `add-${name}`.
 */

import type { ComponentChildren } from 'preact';
import { FieldErrors, RemoveButton, useEditor } from './editor';
import { getAt, setAt } from './paths';

/** A column heading. */
export interface Column {
  label: string;
  class?: string;
  title?: string;
}

function move<T>(list: readonly T[], from: number, to: number): T[] {
  const copy = [...list];
  const [item] = copy.splice(from, 1);
  if (item !== undefined) copy.splice(to, 0, item);
  return copy;
}

export function RowTable<Row>(props: {
  /** Where the rows are in the configuration, e.g. `topics` or `redis.devices`. */
  path: string;
  /** Names the rows in test ids and labels. */
  name: string;
  columns: Column[];
  /** The row the add button appends. */
  make: (rows: Row[]) => Row;
  /** The row's cells, `at` being its path (`topics[2]`). */
  cells: (at: string, row: Row) => ComponentChildren;
  /** Up and down buttons: the order of the rows matters. */
  movable?: boolean;
  rowClass?: (row: Row) => string | undefined;
  empty: string;
  addLabel: string;
  /** Shown next to the add button. */
  footer?: ComponentChildren;
}) {
  const editor = useEditor();
  const rows = (getAt(editor.draft, props.path) as Row[] | undefined) ?? [];
  // Row indices shift: the section's errors are dropped and come back with the next check.
  const edit = (change: (rows: Row[]) => Row[]) =>
    editor.update(
      (draft) => setAt(draft, props.path, change((getAt(draft, props.path) as Row[]) ?? [])),
      props.path.split('.')[0],
    );
  const { name } = props;
  return (
    <>
      {/* Problems of the table as a whole (too many rows) show above it. */}
      <div data-paths={props.path}>
        <FieldErrors paths={[props.path]} />
      </div>
      <div class="table-scroll">
        <table class="topics-table">
          <thead>
            <tr>
              <th>#</th>
              {props.columns.map((c) => (
                <th key={c.label} class={c.class} title={c.title}>
                  {c.label}
                </th>
              ))}
              <th>
                <span class="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={props.columns.length + 2} class="empty">
                  {props.empty}
                </td>
              </tr>
            )}
            {rows.map((row, i) => (
              <tr key={i} data-testid={`${name}-row-${i}`} class={props.rowClass?.(row)}>
                <td>
                  {props.movable === true ? (
                    <div class="row-index">
                      <button
                        type="button"
                        class="icon-btn"
                        data-testid={`up-${name}-${i}`}
                        title="Move up"
                        aria-label={`Move ${name} ${i} up`}
                        disabled={i === 0}
                        onClick={() => edit((list) => move(list, i, i - 1))}
                      >
                        ▲
                      </button>
                      <span class="num-label">{i}</span>
                      <button
                        type="button"
                        class="icon-btn"
                        data-testid={`down-${name}-${i}`}
                        title="Move down"
                        aria-label={`Move ${name} ${i} down`}
                        disabled={i === rows.length - 1}
                        onClick={() => edit((list) => move(list, i, i + 1))}
                      >
                        ▼
                      </button>
                    </div>
                  ) : (
                    <span class="num-label">{i}</span>
                  )}
                </td>
                {props.cells(`${props.path}[${i}]`, row)}
                <td class="row-actions">
                  <RemoveButton
                    testid={`remove-${name}-${i}`}
                    label={`Remove ${name} ${i}`}
                    onClick={() => edit((list) => list.filter((_, j) => j !== i))}
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
          data-testid={`add-${name}`}
          onClick={() => edit((list) => [...list, props.make(list)])}
        >
          {props.addLabel}
        </button>
        {props.footer}
      </div>
    </>
  );
}

/**
 * Trend charts of the State page, drawn by uPlot (a small, fast canvas chart library): each
 * channel's recent values, and the agent's message rate. The history lives in the page, fed
 * by the snapshots and `channel` events it already receives; nothing is stored on the agent.
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Snapshot } from './types';

/** Points kept per series: a few minutes of a channel that changes every second. */
export const MAX_POINTS = 300;

/** One series: times (Unix seconds) and values. */
export interface Series {
  readonly xs: number[];
  readonly ys: number[];
}

function push(series: Series | undefined, x: number, y: number): Series {
  const xs = [...(series?.xs ?? []), x].slice(-MAX_POINTS);
  const ys = [...(series?.ys ?? []), y].slice(-MAX_POINTS);
  return { xs, ys };
}

/**
 * The history of each channel's value (booleans as 0/1) and of the message rate (published +
 * received per second, from the counters of successive snapshots).
 */
export function useHistory(snapshot: Snapshot | undefined): {
  channels: ReadonlyMap<number, Series>;
  rate: Series;
} {
  const [channels, setChannels] = useState<ReadonlyMap<number, Series>>(new Map());
  const [rate, setRate] = useState<Series>({ xs: [], ys: [] });
  const last = useRef<{ at: number; total: number } | undefined>(undefined);

  useEffect(() => {
    if (snapshot === undefined) return;
    const now = Date.now() / 1000;
    setChannels((previous) => {
      const next = new Map(previous);
      for (const c of snapshot.channels) {
        const v = c.value;
        const y = typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : undefined;
        if (y === undefined || !Number.isFinite(y)) continue;
        const s = previous.get(c.id);
        // A point per change, or per second while it holds, so the line reaches "now".
        const lastX = s?.xs.at(-1);
        if (s !== undefined && s.ys.at(-1) === y && lastX !== undefined && now - lastX < 1)
          continue;
        next.set(c.id, push(s, now, y));
      }
      return next;
    });
  }, [snapshot]);

  const counts = snapshot?.counts;
  useEffect(() => {
    if (counts === undefined) return;
    const now = Date.now() / 1000;
    const total = (counts.published ?? 0) + (counts.received ?? 0);
    const before = last.current;
    last.current = { at: now, total };
    if (before === undefined || now - before.at < 0.2) return;
    setRate((s) => push(s, now, Math.max(0, (total - before.total) / (now - before.at))));
  }, [counts]);

  return { channels, rate };
}

/** A line chart of one series; `compact` is a sparkline without axes, for a table cell. */
export function Trend({
  series,
  testId,
  label,
  compact = true,
  stepped = false,
}: {
  series: Series | undefined;
  testId: string;
  label: string;
  compact?: boolean;
  stepped?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = (): uPlot.AlignedData => [series?.xs ?? [], series?.ys ?? []];

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const width = compact ? 140 : Math.max(200, Math.min(640, el.clientWidth || 320));
    const u = new uPlot(
      {
        width,
        height: compact ? 36 : 120,
        legend: { show: false },
        cursor: { show: !compact },
        // A digital channel is 0 or 1: a fixed range keeps a flat line inside the box.
        scales: { x: { time: true }, ...(stepped ? { y: { range: [-0.1, 1.1] } } : {}) },
        axes: compact ? [{ show: false }, { show: false }] : [{}, { size: 48 }],
        series: [
          {},
          {
            label,
            stroke: '#2563eb',
            width: 1.5,
            ...(stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }) } : {}),
            points: { show: false },
          },
        ],
      },
      data(),
      el,
    );
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = undefined;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data());
  });

  return (
    <div
      class={compact ? 'trend trend-compact' : 'trend'}
      ref={host}
      role="img"
      aria-label={label}
      data-testid={testId}
      data-points={series?.xs.length ?? 0}
    />
  );
}

/** Medians, min-max and the Markdown table of a benchmark run. */
import { ENGINE_LABEL, type ChildResult, type Engine, type ScenarioName, type TurnResult } from './common.js';

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function stat(values: readonly number[]): Stat | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { median, min: v[0]!, max: v.at(-1)!, n: v.length };
}

type MetricKey = keyof Pick<TurnResult, 'preprocessMs' | 'visionMs' | 'prefillMs' | 'firstTokenMs' | 'decodeTokensPerSecond' | 'peakRssMB'>;

interface Metric {
  key: MetricKey | 'visionMsPerTile' | 'loadMs';
  label: string;
  unit: string;
  /** Higher is better (tokens/s). */
  higher?: boolean;
}

const METRICS: Metric[] = [
  { key: 'preprocessMs', label: 'preprocessing', unit: 'ms' },
  { key: 'visionMs', label: 'vision encode', unit: 'ms' },
  { key: 'visionMsPerTile', label: 'vision encode per tile', unit: 'ms' },
  { key: 'prefillMs', label: 'prefill', unit: 'ms' },
  { key: 'firstTokenMs', label: 'time to first token', unit: 'ms' },
  { key: 'decodeTokensPerSecond', label: 'decode', unit: 'tok/s', higher: true },
  { key: 'peakRssMB', label: 'peak RSS', unit: 'MB' },
];

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  text: 'text only',
  single: 'one image, no splitting',
  photo: '1024x768 photo',
  square: '1024x1024 photo',
};

export interface Row {
  dtype: string;
  scenario: ScenarioName | 'load' | 'chat';
  metric: string;
  unit: string;
  higher: boolean;
  /** Engine label -> stat. */
  values: Record<string, Stat | undefined>;
}

export interface Summary {
  rows: Row[];
  /** Per dtype and scenario: prompt tokens and tiles per engine (to check the engines did the same work). */
  work: Record<string, Record<string, { promptTokens: number[]; tiles: number[]; headIds: number[][] }>>;
}

export function summarise(results: readonly ChildResult[], engines: readonly string[], labelOf: (r: ChildResult) => string): Summary {
  const rows: Row[] = [];
  const dtypes = [...new Set(results.map((r) => r.dtype))];
  const ok = results.filter((r) => !r.error);
  const work: Summary['work'] = {};
  for (const dtype of dtypes) {
    const mine = ok.filter((r) => r.dtype === dtype);
    const by = (engine: string) => mine.filter((r) => labelOf(r) === engine);
    rows.push({
      dtype,
      scenario: 'load',
      metric: 'model load',
      unit: 'ms',
      higher: false,
      values: Object.fromEntries(engines.map((e) => [e, stat(by(e).map((r) => r.loadMs))])),
    });
    const scenarios = [...new Set(mine.map((r) => r.scenario))];
    for (const scenario of scenarios) {
      const turns = Math.max(...mine.filter((r) => r.scenario === scenario).map((r) => r.turns.length));
      for (let turn = 0; turn < turns; turn++) {
        for (const metric of METRICS) {
          if (scenario === 'text' && (metric.key === 'visionMs' || metric.key === 'visionMsPerTile' || metric.key === 'preprocessMs')) continue;
          const values = Object.fromEntries(engines.map((e) => [e, stat(by(e).filter((r) => r.scenario === scenario).map((r) => metricValue(r.turns[turn], metric.key)))]));
          rows.push({
            dtype,
            scenario: turn === 0 ? scenario : 'chat',
            metric: turn === 0 ? metric.label : `turn ${turn + 1}: ${metric.label}`,
            unit: metric.unit,
            higher: metric.higher ?? false,
            values,
          });
        }
      }
      for (const e of engines) {
        const runs = by(e).filter((r) => r.scenario === scenario);
        (work[`${dtype} ${scenario}`] ??= {})[e] = {
          promptTokens: runs[0]?.turns.map((t) => t.promptTokens) ?? [],
          tiles: runs[0]?.turns.map((t) => t.tiles) ?? [],
          headIds: runs[0]?.turns.map((t) => t.headIds) ?? [],
        };
      }
    }
  }
  return { rows, work };
}

/** A turn's figure for a metric; the per-tile encode time is derived (NaN for a turn without tiles). */
function metricValue(turn: TurnResult | undefined, key: Metric['key']): number {
  if (!turn || key === 'loadMs') return NaN;
  if (key === 'visionMsPerTile') return turn.tiles > 0 ? turn.visionMs / turn.tiles : NaN;
  return turn[key];
}

function fmt(value: number, unit: string): string {
  if (unit === 'tok/s') return value.toFixed(1);
  if (unit === 'MB') return value.toFixed(0);
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function cell(s: Stat | undefined, unit: string): string {
  if (!s) return '–';
  if (s.n === 1) return fmt(s.median, unit);
  return `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})`;
}

/** The Markdown table: one row per step and metric, medians with min-max, ratios and the floor. */
export function markdownTable(summary: Summary, engines: readonly string[], reference: string, floor: string | undefined): string {
  const main = engines.includes('ours') ? 'ours' : engines[0]!;
  const others = engines.filter((e) => e !== reference && e !== floor && e !== main);
  const columns = [main, ...others, ...(engines.includes(reference) && reference !== main ? [reference] : []), ...(floor ? [floor] : [])];
  const header = [
    'dtype',
    'scenario',
    'step',
    ...columns.map((c) => engineTitle(c)),
    ...(engines.includes(reference) ? [`${main} / ${reference}`] : []),
    ...(floor ? [`${main} − floor`] : []),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`];
  for (const row of summary.rows) {
    const m = row.values[main];
    const ref = row.values[reference];
    const fl = floor ? row.values[floor] : undefined;
    const ratio = m && ref && ref.median !== 0 ? (m.median / ref.median).toFixed(2) + (row.higher ? 'x' : '') : '–';
    let over = '–';
    if (floor && m && fl) {
      over = row.higher ? `${(1000 / m.median - 1000 / fl.median).toFixed(2)} ms/token` : `${fmt(m.median - fl.median, row.unit)} ${row.unit}`;
      if (row.unit === 'MB' || (row.scenario === 'load')) over = `${fmt(m.median - fl.median, row.unit)} ${row.unit}`;
    }
    const scenario = row.scenario === 'load' ? '' : row.scenario === 'chat' ? SCENARIO_TITLES.photo + ', 2nd turn' : SCENARIO_TITLES[row.scenario];
    lines.push(
      `| ${[
        row.dtype,
        scenario,
        `${row.metric} (${row.unit})`,
        ...columns.map((c) => cell(row.values[c], row.unit)),
        ...(engines.includes(reference) ? [ratio] : []),
        ...(floor ? [over] : []),
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export function engineTitle(engine: string): string {
  return (ENGINE_LABEL as Record<string, string>)[engine as Engine] ?? engine;
}

/** One fresh process of the one-shot benchmark (oneshot.ts); times in ms from its spawn unless named otherwise. */
export interface OneshotRun {
  engine: string;
  scenario: ScenarioName;
  /** Spawn to exit. */
  wallMs: number;
  /** Spawn to the first generated token. */
  firstTokenMs: number;
  /** From the request (the model loaded) to the first token, as the process measured it. */
  requestFirstTokenMs: number;
  /** Model load as the process measured it. */
  loadMs: number;
  decodeTokensPerSecond: number;
  /** Peak resident memory of the process (from /usr/bin/time), MB. */
  peakRssMB: number | undefined;
  /** Named phases, ms (ours: from the --json timings). */
  phases: Record<string, number>;
  error?: string;
}

const ONESHOT_METRICS: { key: 'wallMs' | 'firstTokenMs' | 'requestFirstTokenMs' | 'loadMs' | 'decodeTokensPerSecond' | 'peakRssMB'; label: string; unit: string }[] = [
  { key: 'wallMs', label: 'wall time, spawn to exit', unit: 'ms' },
  { key: 'firstTokenMs', label: 'spawn to first token', unit: 'ms' },
  { key: 'requestFirstTokenMs', label: 'request to first token', unit: 'ms' },
  { key: 'loadMs', label: 'model load', unit: 'ms' },
  { key: 'decodeTokensPerSecond', label: 'decode', unit: 'tok/s' },
  { key: 'peakRssMB', label: 'peak RSS', unit: 'MB' },
];

/** The one-shot table: per scenario and metric, each engine's median (min–max) and ours / transformers.js. */
export function oneshotTable(runs: readonly OneshotRun[], engines: readonly string[]): string {
  const ok = runs.filter((r) => !r.error);
  const header = ['scenario', 'metric', ...engines.map(engineTitle), ...(engines.includes('ours') && engines.includes('theirs') ? ['ours / transformers.js'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  for (const scenario of [...new Set(runs.map((r) => r.scenario))]) {
    for (const metric of ONESHOT_METRICS) {
      const stats = engines.map((e) => stat(ok.filter((r) => r.engine === e && r.scenario === scenario).map((r) => r[metric.key] ?? NaN)));
      const ours = stats[engines.indexOf('ours')];
      const theirs = stats[engines.indexOf('theirs')];
      const ratio = ours && theirs ? (ours.median / theirs.median).toFixed(2) + (metric.unit === 'tok/s' ? 'x' : '') : '–';
      lines.push(`| ${[SCENARIO_TITLES[scenario], `${metric.label} (${metric.unit})`, ...stats.map((s) => cell(s, metric.unit)), ...(header.length > engines.length + 2 ? [ratio] : [])].join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** Our phases: one row per phase, one column per scenario, medians. */
export function oneshotPhaseTable(runs: readonly OneshotRun[]): string {
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  const phases = [...new Set(runs.flatMap((r) => Object.keys(r.phases)))];
  const header = ['phase', ...scenarios.map((s) => SCENARIO_TITLES[s])];
  const lines = [`| ${header.join(' | ')} |`, `|---|${scenarios.map(() => '---:').join('|')}|`];
  for (const phase of phases) {
    lines.push(`| ${[phase, ...scenarios.map((s) => cell(stat(runs.filter((r) => r.scenario === s).map((r) => r.phases[phase] ?? NaN)), 'ms'))].join(' | ')} |`);
  }
  return lines.join('\n');
}

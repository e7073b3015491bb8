/** What each benchmark returns and how it is printed. */

export interface Metric {
  label: string;
  value: number;
  unit: 'ms' | 's' | 'MB' | 'x' | '';
  /** e.g. "≤ 1.0x", "< 200 MB" */
  target?: string;
  /** Whether the target is met (absent when the metric has no target). */
  pass?: boolean;
  /** The individual measurements the value is the median of. */
  runs?: number[];
}

export interface BenchResult {
  id: string;
  title: string;
  metrics: Metric[];
  notes: string[];
}

export interface BenchContext {
  quick: boolean;
  log: (line: string) => void;
}

function formatValue(metric: Pick<Metric, 'value' | 'unit'>, value = metric.value): string {
  switch (metric.unit) {
    case 'ms':
      return `${Math.round(value)} ms`;
    case 's':
      return `${value.toFixed(2)} s`;
    case 'MB':
      return `${value.toFixed(0)} MB`;
    case 'x':
      return `${value.toFixed(2)}x`;
    default:
      return String(value);
  }
}

/** Checks a measured ratio or size against a target and returns the metric. */
export function metric(
  label: string,
  value: number,
  unit: Metric['unit'],
  target?: { max: number; text: string },
  runs?: number[],
): Metric {
  return {
    label,
    value,
    unit,
    ...(target ? { target: target.text, pass: value <= target.max } : {}),
    ...(runs && runs.length > 1 ? { runs } : {}),
  };
}

/** A plain-text table: metric, value, target, verdict, individual runs. */
export function formatTable(result: BenchResult): string {
  const rows = result.metrics.map((m) => [
    m.label,
    formatValue(m),
    m.target ?? '',
    m.pass === undefined ? '' : m.pass ? 'PASS' : 'MISS',
    m.runs ? m.runs.map((r) => formatValue(m, r)).join(', ') : '',
  ]);
  const head = ['metric', 'median', 'target', '', 'runs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [
    `\n== ${result.title} ==`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    ...result.notes.map((n) => `  · ${n}`),
  ].join('\n');
}

/** The same table in Markdown, for bench/RESULTS.md. */
export function formatMarkdown(result: BenchResult): string {
  const rows = result.metrics.map(
    (m) =>
      `| ${m.label} | ${formatValue(m)} | ${m.target ?? ''} | ${m.pass === undefined ? '' : m.pass ? 'pass' : '**miss**'} | ${m.runs ? m.runs.map((r) => formatValue(m, r)).join(', ') : ''} |`,
  );
  return [
    `### ${result.title}`,
    '',
    '| metric | median | target | | runs |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    ...result.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

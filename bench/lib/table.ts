/** The result table: each figure beside the baseline measured in the same run and the target. */

export type Verdict = 'met' | 'MISSED' | '' | 'not run';

export interface Row {
  benchmark: string;
  result: string;
  /** The baseline or ceiling measured in the same run, with the ratio when there is one. */
  baseline: string;
  target: string;
  verdict: Verdict;
  /** Extra lines printed under the row (load shape, anomalies). */
  notes?: string[];
}

const HEADERS = ['benchmark', 'result', 'baseline / ceiling (same run)', 'target', 'verdict'] as const;

export function renderTable(rows: Row[]): string {
  const cells = rows.map((r) => [r.benchmark, r.result, r.baseline, r.target, r.verdict]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: readonly string[]) =>
    `| ${values.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`.trimEnd();
  const out = [line(HEADERS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`];
  for (const [i, row] of rows.entries()) {
    out.push(line(cells[i]!));
    for (const note of row.notes ?? []) out.push(`|   ${note}`);
  }
  return out.join('\n');
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function fmtInt(value: number): string {
  return integer.format(value);
}

export function fmtMs(value: number): string {
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function fmtRatio(value: number): string {
  return `${value.toFixed(value >= 10 ? 1 : 2)}×`;
}

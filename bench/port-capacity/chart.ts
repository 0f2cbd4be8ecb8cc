/**
 * The bench's picture, written as plain SVG text (no library, no service):
 * one small panel per (workload, port set), failure rate against the
 * connections open, kernel and stock mode as two lines.
 */
export interface Curve {
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
  /** [x, y], both 0..1; a null y leaves a gap (no connection arrived there). */
  readonly points: readonly (readonly [number, number | null])[];
}

export interface Panel {
  readonly title: string;
  readonly curves: readonly Curve[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly columns: number;
  readonly panels: readonly Panel[];
}

const PANEL_W = 210;
const PANEL_H = 150;
const PLOT_W = 160;
const PLOT_H = 100;
const LEFT = 40;
const TOP = 30;
const HEADER = 56;
const FOOTER = 40;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function renderChart(chart: Chart): string {
  const rows = Math.ceil(chart.panels.length / chart.columns);
  const width = chart.columns * PANEL_W + 20;
  const height = HEADER + rows * PANEL_H + FOOTER;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  // Legend from the first panel's curves: every panel draws the same ones.
  const legend = chart.panels[0]?.curves ?? [];
  legend.forEach((curve, i) => {
    const x = 20 + i * 200;
    out.push(
      `<line x1="${x}" y1="36" x2="${x + 24}" y2="36" stroke="${curve.color}" stroke-width="2"${curve.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${x + 30}" y="40">${escapeXml(curve.label)}</text>`,
    );
  });
  chart.panels.forEach((panel, index) => {
    const ox = 10 + (index % chart.columns) * PANEL_W + LEFT;
    const oy = HEADER + Math.floor(index / chart.columns) * PANEL_H + TOP;
    const px = (x: number): string => fmt(ox + x * PLOT_W);
    const py = (y: number): string => fmt(oy + PLOT_H - y * PLOT_H);
    out.push(
      `<text x="${fmt(ox + PLOT_W / 2)}" y="${fmt(oy - 10)}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`,
      `<rect x="${fmt(ox)}" y="${fmt(oy)}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#888888"/>`,
    );
    for (const tick of [0, 0.5, 1]) {
      out.push(
        `<line x1="${px(tick)}" y1="${py(0)}" x2="${px(tick)}" y2="${fmt(oy + PLOT_H + 3)}" stroke="#888888"/>`,
        `<text x="${px(tick)}" y="${fmt(oy + PLOT_H + 13)}" text-anchor="middle">${tick * 100}%</text>`,
        `<line x1="${fmt(ox - 3)}" y1="${py(tick)}" x2="${px(0)}" y2="${py(tick)}" stroke="#888888"/>`,
        `<text x="${fmt(ox - 5)}" y="${fmt(Number(py(tick)) + 3)}" text-anchor="end">${tick * 100}%</text>`,
      );
    }
    for (const curve of panel.curves) {
      // One polyline per run of points with a value.
      let run: string[] = [];
      const flush = (): void => {
        if (run.length === 1) out.push(`<circle cx="${run[0]!.split(',')[0]}" cy="${run[0]!.split(',')[1]}" r="2" fill="${curve.color}"/>`);
        else if (run.length > 1)
          out.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${curve.color}" stroke-width="1.8"${curve.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
        run = [];
      };
      for (const [x, y] of curve.points) {
        if (y === null) flush();
        else run.push(`${px(x)},${py(y)}`);
      }
      flush();
    }
  });
  out.push(
    `<text x="${width / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text x="12" y="${HEADER + (rows * PANEL_H) / 2}" text-anchor="middle" transform="rotate(-90 12 ${HEADER + (rows * PANEL_H) / 2})">${escapeXml(chart.yLabel)}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}

// Line charts as self-contained SVG strings (no dependency): axes with round ticks, one polyline per series, a
// legend. Used by run reports; the caller decides what to plot.

export interface ChartSeries {
  name: string;
  points: [number, number][];
  color: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  width?: number;
  height?: number;
  /** Fixed y range (e.g. [0, 1] for rates); default: the data's range. */
  yRange?: [number, number];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** About five round tick values covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

/** An SVG line chart of the series. */
export function lineChartSvg(options: LineChartOptions): string {
  const width = options.width ?? 560;
  const height = options.height ?? 320;
  const margin = { left: 56, right: 16, top: 36, bottom: 64 };
  const all = options.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const xLow = xs.length ? Math.min(...xs) : 0;
  const xHigh = xs.length ? Math.max(...xs, xLow + 1) : 1;
  let [yLow, yHigh] = options.yRange ?? [ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1];
  if (!(yHigh > yLow)) [yLow, yHigh] = [yLow - 0.5, yHigh + 0.5];
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + ((x - xLow) / (xHigh - xLow)) * plotW;
  const py = (y: number) => margin.top + (1 - (y - yLow) / (yHigh - yLow)) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  for (const tick of niceTicks(yLow, yHigh)) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(tick)}" y2="${py(tick)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${py(tick) + 4}" text-anchor="end">${tick}</text>`);
  }
  for (const tick of niceTicks(xLow, xHigh)) {
    parts.push(`<text x="${px(tick)}" y="${height - margin.bottom + 16}" text-anchor="middle">${tick}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#333"/>`);
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${height - margin.bottom}" y2="${height - margin.bottom}" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - margin.bottom + 34}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  options.series.forEach((series, i) => {
    if (series.points.length > 0) {
      const path = series.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${series.color}" stroke-width="2" points="${path}"/>`);
      for (const [x, y] of series.points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${series.color}"/>`);
    }
    const lx = margin.left + i * 150;
    parts.push(`<rect x="${lx}" y="${height - 18}" width="12" height="3" fill="${series.color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${height - 13}">${escapeXml(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

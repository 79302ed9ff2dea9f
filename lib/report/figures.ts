// The public figure functions, loading Vega and resvg only when first called: `import 'rexrag'` and every CLI
// command stay quick. The rendering itself is render-figure.ts.
import type { ChartSpec } from './chart-specs.js';

/** The spec drawn as a standalone SVG document (see render-figure.ts). */
export async function specToSvg(spec: ChartSpec): Promise<string> {
  return (await import('./render-figure.js')).specToSvg(spec);
}

/** Renders a chart spec to `outPath`, `.svg` or `.png` (see render-figure.ts). */
export async function renderFigure(spec: ChartSpec, outPath: string, options: { scale?: number } = {}): Promise<string> {
  return (await import('./render-figure.js')).renderFigure(spec, outPath, options);
}

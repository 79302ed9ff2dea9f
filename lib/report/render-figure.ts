// Static figures from the chart specs, headless in Node: Vega-Lite compiles the spec, a Vega view without a
// renderer draws it to SVG, and resvg rasterises the SVG to PNG. The specs themselves are chart-specs.ts's.
import { writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';

import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile } from 'vega-lite';

import { RexragError } from '../errors.js';
import type { ChartSpec } from './chart-specs.js';
import { makeFolder } from '../util/make-folder.js';

/** The spec drawn as a standalone SVG document (white background). */
export async function specToSvg(spec: ChartSpec): Promise<string> {
  if (spec === null || typeof spec !== 'object') throw new TypeError(`spec must be a Vega-Lite spec object, got ${spec === null ? 'null' : typeof spec}`);
  let view: View;
  try {
    const vega = compile({ background: 'white', ...spec } as ChartSpec).spec;
    view = new View(parse(vega), { renderer: 'none' });
  } catch (error) {
    throw new RexragError(`invalid chart spec: ${(error as Error).message}`, 'ERR_INVALID_ARG', { cause: error });
  }
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG bytes of an SVG document at `scale` times its size, with the system's sans-serif font for text. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, sansSerifFamily: 'DejaVu Sans', defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}

/**
 * Renders a chart spec to `outPath`: `.svg` as SVG, `.png` as PNG (twice the spec's size by default, for
 * sharp README figures). Creates the folder; another extension is an ERR_INVALID_ARG.
 */
export async function renderFigure(spec: ChartSpec, outPath: string, options: { scale?: number } = {}): Promise<string> {
  const format = extname(outPath).toLowerCase();
  if (format !== '.svg' && format !== '.png') {
    throw new RexragError(`renderFigure writes .svg or .png files, got "${outPath}"`, 'ERR_INVALID_ARG');
  }
  const svg = await specToSvg(spec);
  await makeFolder(dirname(outPath));
  await writeFile(outPath, format === '.svg' ? svg : svgToPng(svg, options.scale ?? 2));
  return outPath;
}

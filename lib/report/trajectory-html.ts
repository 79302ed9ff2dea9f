// A sample trajectory as HTML: the question and gold answers, then the response with what the model wrote, the
// retrieved passages and a spliced exploration prompt told apart by colour. Shared by the lab report (in Node)
// and the dashboard page (loaded as it is in the browser; no Node imports).
import type { TrajectorySample } from '../train/run-samples.js';

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The styles trajectoryHtml's classes need. */
export const TRAJECTORY_CSS = `
.traj{border:1px solid #ddd;border-radius:6px;margin:10px 0;padding:8px 12px;background:#fff}
.traj-head{font-size:12px;color:#555;margin-bottom:4px}
.traj-q{font-weight:600;margin:4px 0}
.traj-gold{font-weight:400;color:#555;margin-left:8px}
.traj-body{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;line-height:1.5;margin:6px 0 0}
.seg-information{background:#e3f4e1;color:#1b5e20}
.seg-probe-prompt{background:#ffe0b2;color:#8a4b00;font-weight:600}
.seg-invalid{background:#eee;color:#666;font-style:italic}
.badge{display:inline-block;border-radius:3px;padding:0 5px;margin-right:6px;font-size:11px;color:#fff;background:#777}
.badge-right{background:#2e7d32}.badge-wrong{background:#c62828}.badge-probe{background:#ef6c00}
.traj-legend span{display:inline-block;margin-right:12px;padding:0 4px;font-size:12px}`;

/** A one-line legend of the segment colours. */
export function trajectoryLegendHtml(): string {
  return '<div class="traj-legend"><span>model output</span><span class="seg-information">retrieved passages</span>' +
    '<span class="seg-probe-prompt">spliced exploration prompt (REX-RAG probe)</span><span class="seg-invalid">invalid-action notice</span></div>';
}

/** One sample as a block of HTML (every piece of text escaped). */
export function trajectoryHtml(sample: TrajectorySample): string {
  const badges: string[] = [];
  if (typeof sample.reward === 'number') badges.push(sample.reward > 0 ? '<span class="badge badge-right">right</span>' : '<span class="badge badge-wrong">wrong</span>');
  if (sample.isProbe) badges.push(`<span class="badge badge-probe">probe${sample.kept ? ', kept' : sample.kept === false ? ', dropped' : ''}</span>`);
  const facts = [`step ${sample.step}`, sample.phase, sample.dataSource, sample.finishReason ? `ended: ${sample.finishReason}` : undefined]
    .filter((fact): fact is string => typeof fact === 'string' && fact !== '');
  const golds = sample.golds && sample.golds.length > 0 ? `<span class="traj-gold">gold: ${escapeHtml(sample.golds.join(' | '))}</span>` : '';
  const body = sample.segments.map((s) => `<span class="seg seg-${escapeHtml(s.kind)}">${escapeHtml(s.text)}</span>`).join('');
  return `<div class="traj"><div class="traj-head">${badges.join('')}${escapeHtml(facts.join(' · '))}</div>` +
    `<div class="traj-q">${escapeHtml(sample.question)}${golds}</div><pre class="traj-body">${body}</pre></div>`;
}

// Per-process memory figures from /proc/self/status: the resident set now (VmRSS), its peak (VmHWM), and a
// reset of that peak (writing 5 to /proc/self/clear_refs, Linux >= 4.0). The Python reference reads the same
// fields, so both sides are measured the same way.
import { readFileSync, writeFileSync } from 'node:fs';

function statusBytes(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) * 1024;
}

/** Resident set size now. */
export function rssBytes(): number {
  return statusBytes('VmRSS');
}

/** Peak resident set size since the process started or since the last resetPeakRss(). */
export function peakRssBytes(): number {
  return statusBytes('VmHWM');
}

/** Resets the peak to the current resident set size. */
export function resetPeakRss(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

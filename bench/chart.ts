/** The failover chart, as hand-written SVG (no dependency): each request’s latency over time, log scale. */
import type { Results } from './report';

const WIDTH = 900;
const HEIGHT = 380;
const PAD = { left: 60, right: 20, top: 30, bottom: 45 };
const COLORS: Record<string, string> = { eastus2: '#1f77b4', swedencentral: '#ff7f0e' };

export function failoverChart(f: Results['failover']): string {
  const xMax = Math.max(f.durationMs, ...f.samples.map((s) => s.at)) / 1000;
  const latencies = f.samples.map((s) => Math.max(0.1, s.latencyMs));
  const yMin = 0.1;
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(10, ...latencies)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (seconds: number) => PAD.left + (seconds / xMax) * plotW;
  const y = (msValue: number) =>
    PAD.top + plotH - ((Math.log10(Math.max(yMin, msValue)) - Math.log10(yMin)) / Math.log10(yMax / yMin)) * plotH;
  const fmt = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">Failover under load: latency of each request (${f.rps} req/s, ${f.lost} lost)</text>`,
  );
  // Axes and grid.
  for (let exponent = Math.log10(yMin); exponent <= Math.round(Math.log10(yMax)); exponent++) {
    const decade = 10 ** exponent;
    const yy = fmt(y(decade));
    out.push(
      `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${decade >= 1 ? decade.toFixed(0) : decade.toFixed(1)}</text>`,
    );
  }
  for (let second = 0; second <= xMax; second++) {
    const xx = fmt(x(second));
    out.push(
      `<line x1="${xx}" x2="${xx}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH + 4}" stroke="#333"/>`,
      `<text x="${xx}" y="${PAD.top + plotH + 16}" text-anchor="middle">${second}</text>`,
    );
  }
  out.push(
    `<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}" stroke="#333"/>`,
    `<line x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#333"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">time since start of run (s)</text>`,
    `<text transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
  );
  // Markers: kill, restart, back on primary.
  const markers: [number, string, string][] = [
    [f.killedAt, 'primary killed', '#d62728'],
    [f.restartReadyAt, 'primary restarted', '#2ca02c'],
    [f.backOnPrimaryAt, 'back on primary', '#9467bd'],
  ];
  markers.forEach(([at, label, color], i) => {
    if (!Number.isFinite(at)) return;
    const xx = fmt(x(at / 1000));
    out.push(
      `<line x1="${xx}" x2="${xx}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="${color}" stroke-dasharray="5 4" stroke-width="1.5"/>`,
      `<text x="${fmt(x(at / 1000) + 4)}" y="${PAD.top + 12 + i * 14}" fill="${color}">${label}</text>`,
    );
  });
  // The line: latency of each request in the order sent.
  const points = f.samples.filter((s) => s.ok).map((s) => `${fmt(x(s.at / 1000))},${fmt(y(s.latencyMs))}`);
  out.push(`<polyline points="${points.join(' ')}" fill="none" stroke="#999" stroke-width="0.6"/>`);
  for (const s of f.samples) {
    const cx = fmt(x(s.at / 1000));
    const cy = fmt(y(s.latencyMs));
    if (s.ok) out.push(`<circle cx="${cx}" cy="${cy}" r="1.6" fill="${COLORS[s.region ?? ''] ?? '#333'}"/>`);
    else out.push(`<text x="${cx}" y="${cy}" fill="#d62728" text-anchor="middle" dominant-baseline="middle">×</text>`);
  }
  // Legend.
  const legend: [string, string][] = [
    ['answered by eastus2 (primary)', COLORS.eastus2 ?? '#333'],
    ['answered by swedencentral', COLORS.swedencentral ?? '#333'],
    ['lost (×)', '#d62728'],
  ];
  legend.forEach(([label, color], i) => {
    const lx = WIDTH - PAD.right - 210;
    const ly = PAD.top + plotH - 48 + i * 16;
    out.push(
      `<circle cx="${lx}" cy="${ly}" r="4" fill="${color}"/>`,
      `<text x="${lx + 10}" y="${ly}" dominant-baseline="middle">${label}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

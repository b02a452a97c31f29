/** A grouped bar chart as a standalone SVG document (no dependencies, deterministic output). */

export interface BarChart {
  title: string;
  /** One group per category (e.g. per kernel). */
  categories: string[];
  /** One bar per series in each group. */
  series: { name: string; values: number[] }[];
  yLabel?: string;
}

const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1'];

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function renderBarChart(chart: BarChart): string {
  const width = 760;
  const height = 420;
  const margin = { left: 70, right: 20, top: 50, bottom: 90 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const max = Math.max(1, ...chart.series.flatMap((s) => s.values));
  const niceMax = niceCeil(max);
  const groupW = plotW / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  for (let t = 0; t <= 5; t++) {
    const v = (niceMax * t) / 5;
    const y = margin.top + plotH - (plotH * t) / 5;
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${y + 4}" text-anchor="end">${formatTick(v)}</text>`);
  }
  if (chart.yLabel) {
    parts.push(
      `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`,
    );
  }
  chart.categories.forEach((cat, ci) => {
    const gx = margin.left + ci * groupW + groupW * 0.1;
    chart.series.forEach((s, si) => {
      const v = s.values[ci] ?? 0;
      const h = (plotH * v) / niceMax;
      const x = gx + si * barW;
      const y = margin.top + plotH - h;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOURS[si % COLOURS.length]}"><title>${escapeXml(`${cat}: ${s.name} = ${v}`)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${(gx + groupW * 0.4).toFixed(1)}" y="${margin.top + plotH + 16}" text-anchor="middle">${escapeXml(cat)}</text>`,
    );
  });
  chart.series.forEach((s, si) => {
    const x = margin.left + (si % 3) * 230;
    const y = height - 45 + Math.floor(si / 3) * 16;
    parts.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLOURS[si % COLOURS.length]}"/>`,
    );
    parts.push(`<text x="${x + 16}" y="${y}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function formatTick(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return String(Math.round(v * 100) / 100);
}

// Hand-written SVG line charts (no dependency): linear axes with round ticks, one polyline per
// series, a legend. Enough for "n-th join time against n".
export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  note?: string;
  width?: number;
  height?: number;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Round tick step for a range: 1, 2 or 5 times a power of ten, about `count` ticks. */
export function tickStep(max: number, count = 6): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

const label = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3))));

export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 760;
  const height = options.height ?? 440;
  const m = { left: 64, right: 20, top: 44, bottom: 56 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xMaxRaw = Math.max(1, ...all.map((p) => p[0]));
  const yMaxRaw = Math.max(1e-9, ...all.map((p) => p[1]));
  const xStep = tickStep(xMaxRaw);
  const yStep = tickStep(yMaxRaw);
  const xMax = Math.ceil(xMaxRaw / xStep) * xStep;
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const x = (v: number) => m.left + (v / xMax) * pw;
  const y = (v: number) => m.top + ph - (v / yMax) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">` +
      `${esc(options.title)}</text>`,
  );
  for (let v = 0; v <= yMax + yStep / 2; v += yStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${label(v)}</text>`,
    );
  }
  for (let v = 0; v <= xMax + xStep / 2; v += xStep) {
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`,
      `<text x="${x(v)}" y="${m.top + ph + 18}" text-anchor="middle">${label(v)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 14}" text-anchor="middle">${esc(options.xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">` +
      `${esc(options.yLabel)}</text>`,
  );
  for (const s of options.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"` +
        `${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`,
    );
  }
  options.series.forEach((s, i) => {
    const ly = m.top + 14 + i * 18;
    out.push(
      `<line x1="${m.left + 12}" x2="${m.left + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" ` +
        `stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${m.left + 46}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  if (options.note) {
    out.push(
      `<text x="${m.left + pw}" y="${height - 14}" text-anchor="end" fill="#666" font-size="10">` +
        `${esc(options.note)}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/**
 * The (n+1)sec paper's published join times: about 0.35 s for n = 1 rising linearly to about
 * 2.3 s for n = 97 (6-core machine, clients over an XMPP server).
 */
export function publishedNPlusOneSec(maxN: number): [number, number][] {
  const at = (n: number) => 0.35 + ((2.3 - 0.35) * (n - 1)) / 96;
  const top = Math.min(97, maxN);
  return [
    [1, at(1)],
    [top, at(top)],
  ];
}

import sharp from 'sharp';
import type { SampleAnnotations } from '../pipeline/sample-annotations.js';

const TILE = 320;
const TEXT_HEIGHT = 72;
const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

/**
 * A PNG grid of samples for a person to look at: each image scaled to TILE px wide, its boxes
 * drawn, its (first) caption and box labels written below. Drawn with an SVG overlay that libvips
 * (through sharp) rasterises: no canvas library needed.
 */
export async function contactSheet(samples: readonly SampleAnnotations[], columns = 4): Promise<Buffer> {
  const tiles = await Promise.all(samples.map(tile));
  const cols = Math.max(1, Math.min(columns, tiles.length));
  const rows = Math.ceil(tiles.length / cols);
  const cellH = Math.max(1, ...tiles.map((t) => t.height));
  const composites = tiles.map((t, i) => ({ input: t.png, left: (i % cols) * TILE, top: Math.floor(i / cols) * cellH }));
  return sharp({ create: { width: cols * TILE, height: Math.max(1, rows * cellH), channels: 3, background: '#ffffff' } }).composite(composites).png().toBuffer();
}

async function tile(a: SampleAnnotations): Promise<{ png: Buffer; height: number }> {
  let image: Buffer;
  let w = TILE;
  let h = TILE;
  let scale = 1;
  try {
    const meta = await sharp(a.image).metadata();
    scale = TILE / (meta.width ?? TILE);
    h = Math.max(1, Math.round((meta.height ?? TILE) * scale));
    image = await sharp(a.image).resize(w, h, { fit: 'fill' }).removeAlpha().png().toBuffer();
  } catch {
    h = TILE / 2;
    image = await sharp({ create: { width: w, height: h, channels: 3, background: '#888888' } }).png().toBuffer();
  }
  const caption = a.captions[0] ?? (a.labels.length ? `[detection] ${[...new Set(a.labels)].join(', ')}` : '');
  const boxes = a.boxes
    .map(([x0, y0, x1, y1], i) => {
      const c = COLORS[i % COLORS.length];
      const label = a.labels[i] ?? a.tokensPositive[i]?.map(([s, e]) => caption.slice(s, e)).join(' ') ?? '';
      return `<rect x="${x0 * scale}" y="${y0 * scale}" width="${(x1 - x0) * scale}" height="${(y1 - y0) * scale}" fill="none" stroke="${c}" stroke-width="2"/>` +
        `<text x="${x0 * scale + 2}" y="${y0 * scale + 12}" font-size="11" font-family="sans-serif" fill="${c}">${esc(label)}</text>`;
    })
    .join('');
  const lines = wrap(`${a.key}: ${caption}`, 46).slice(0, 4);
  const text = lines.map((l, i) => `<text x="4" y="${h + 16 + i * 15}" font-size="12" font-family="sans-serif" fill="#000">${esc(l)}</text>`).join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h + TEXT_HEIGHT}">${boxes}${text}</svg>`);
  const png = await sharp(image).extend({ bottom: TEXT_HEIGHT, background: '#ffffff' }).composite([{ input: svg, left: 0, top: 0 }]).png().toBuffer();
  return { png, height: h + TEXT_HEIGHT };
}

function wrap(s: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of s.split(/\s+/)) {
    if ((line + ' ' + word).trim().length > width && line) {
      out.push(line);
      line = word;
    } else line = (line + ' ' + word).trim();
  }
  if (line) out.push(line);
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

import sharp from 'sharp';
import { createRng } from '../pipeline/rng.js';
import { SHAPE_COLOURS, type SceneShape, type ShapesScene } from './shapes-scene.js';

/** Background noise amplitude per channel: enough that the background is not one flat value. */
const NOISE = 6;

/**
 * Draw a scene into an RGB buffer and encode it as PNG. Drawn by hand rather than from SVG so the
 * pixels depend on nothing but the scene (no rasteriser version, no antialiasing): shape pixels
 * are exactly their palette colour and fill their box (a triangle's apex to within a pixel).
 */
export async function renderScenePng(scene: ShapesScene): Promise<Buffer> {
  const { width, height } = scene;
  const rgb = Buffer.alloc(width * height * 3);
  const rng = createRng(scene.noiseSeed);
  for (let p = 0; p < width * height; p++) {
    for (let ch = 0; ch < 3; ch++) rgb[p * 3 + ch] = Math.max(0, Math.min(255, (scene.background[ch] as number) + rng.int(2 * NOISE + 1) - NOISE));
  }
  for (const shape of scene.shapes) {
    const [x0, y0, x1, y1] = shape.box;
    const colour = SHAPE_COLOURS[shape.colour];
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        if (!covers(shape, x + 0.5, y + 0.5)) continue;
        rgb.set(colour, (y * width + x) * 3);
      }
    }
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/** Whether the pixel centred at (px, py), already known to be inside the box, is inside the shape. */
function covers(shape: SceneShape, px: number, py: number): boolean {
  const [x0, y0, x1, y1] = shape.box;
  const cx = (x0 + x1) / 2;
  const w = x1 - x0;
  switch (shape.kind) {
    case 'square':
    case 'bar':
      return true;
    case 'circle':
      return (px - cx) ** 2 + (py - (y0 + y1) / 2) ** 2 <= (w / 2) ** 2;
    case 'triangle':
      // Apex at the top centre, base along the bottom edge.
      return Math.abs(px - cx) <= ((py - y0) / (y1 - y0)) * (w / 2);
  }
}

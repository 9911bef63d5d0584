/** A box as (x0, y0, x1, y1) in pixels, x1 >= x0 and y1 >= y0 for a real box. */
export type Box = readonly [number, number, number, number];

/**
 * Intersection over union of two boxes in continuous pixel coordinates: area = w * h, without
 * the "+1" of the old Pascal VOC convention (as torchvision.ops.box_iou; our boxes are float
 * pixel edges, not inclusive integer indices).
 * Degenerate or inverted boxes have area 0; two of them give IoU 0, never NaN.
 */
export function boxIou(a: Box, b: Box): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

// Where value labels go so that none covers another or a data point: a pure function of boxes in
// pixels, used by the scaling chart (several workloads at the same server count used to print
// their labels on top of each other). No canvas here; tests check the geometry directly.

/** A rectangle in canvas pixels, (x, y) its top-left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LabelRequest {
  /** The point the label describes. */
  anchorX: number;
  anchorY: number;
  /** The label's size (measured text plus padding). */
  width: number;
  height: number;
  /** Distance kept from the anchor (a point marker's radius and a little air). */
  clearancePx: number;
}

/** How far a label may be pushed away from its point, in label heights, before it gives up. */
const MAX_STEPS = 8;

export function overlaps(a: Box, b: Box, marginPx = 1): boolean {
  return a.x < b.x + b.width + marginPx && b.x < a.x + a.width + marginPx && a.y < b.y + b.height + marginPx && b.y < a.y + a.height + marginPx;
}

function inside(b: Box, area: Box): boolean {
  return b.x >= area.x && b.y >= area.y && b.x + b.width <= area.x + area.width && b.y + b.height <= area.y + area.height;
}

/**
 * Candidate spots for one label, nearest first: above, below, right, left, then stacked further
 * above and below. Centred spots slide sideways to stay inside the area (a point at its edge).
 */
function candidates(r: LabelRequest, area: Box): Box[] {
  const { anchorX: ax, anchorY: ay, width: w, height: h, clearancePx: c } = r;
  const cx = Math.min(Math.max(ax - w / 2, area.x), area.x + area.width - w);
  const spots: Box[] = [
    { x: cx, y: ay - c - h, width: w, height: h },
    { x: cx, y: ay + c, width: w, height: h },
    { x: ax + c, y: ay - h / 2, width: w, height: h },
    { x: ax - c - w, y: ay - h / 2, width: w, height: h },
  ];
  for (let k = 1; k <= MAX_STEPS; k++) {
    spots.push({ x: cx, y: ay - c - h - k * (h + 2), width: w, height: h });
    spots.push({ x: cx, y: ay + c + k * (h + 2), width: w, height: h });
  }
  return spots;
}

/**
 * One box per request, in order, each at the nearest candidate spot that stays inside `area` and
 * overlaps neither a label placed before it nor an obstacle (the data points). Earlier requests get
 * the better spots. When no spot is free the label goes to the first spot inside the area (above
 * its point if none is): crowded, but never lost.
 */
export function placeLabels(requests: readonly LabelRequest[], obstacles: readonly Box[], area: Box): Box[] {
  const placed: Box[] = [];
  for (const r of requests) {
    const spots = candidates(r, area);
    const free = spots.find((b) => inside(b, area) && !placed.some((p) => overlaps(b, p)) && !obstacles.some((o) => overlaps(b, o, 0)));
    placed.push(free ?? spots.find((b) => inside(b, area)) ?? spots[0]!);
  }
  return placed;
}

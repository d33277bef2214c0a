// Colours of every chart. A server count always gets the same colour — in every chart of a run and
// across runs — because the colour comes from the count itself, not from its position in a list.

/** Okabe–Ito/Tableau-like palette: distinguishable for colour-blind readers and in greyscale print. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'] as const;

export const BACKGROUND = '#ffffff';
export const TEXT = '#222222';
export const GRID = '#e6e6e6';
export const ERROR_RED = '#c00000';
export const SLO_COLOR = '#444444';

/** The colour of `serverCount` servers (1 → blue, 2 → red, 3 → green, ...). */
export function serverCountColor(serverCount: number): string {
  const i = (Math.max(1, Math.round(serverCount)) - 1) % PALETTE.length;
  return PALETTE[i]!;
}

/** `#rrggbb` with an alpha (0..1) as an rgba() string. */
export function withAlpha(hex: string, alpha: number): string {
  const [r, g, b] = rgb(hex);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/**
 * A shade of `hex` for position t (0..1) in an ordered family of lines: t = 0 is light (mixed
 * with white), t = 1 is dark (mixed with black). Used for load levels of one server count.
 */
export function shade(hex: string, t: number): string {
  const [r, g, b] = rgb(hex);
  const clamped = Math.min(1, Math.max(0, t));
  // From 55% white at t=0 through the pure colour at t≈0.6 to 35% black at t=1.
  const mix = (c: number): number => {
    if (clamped < 0.6) {
      const w = 0.55 * (1 - clamped / 0.6);
      return Math.round(c + (255 - c) * w);
    }
    const k = 0.35 * ((clamped - 0.6) / 0.4);
    return Math.round(c * (1 - k));
  };
  return `#${[mix(r), mix(g), mix(b)].map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

function rgb(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`not a #rrggbb colour: ${hex}`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

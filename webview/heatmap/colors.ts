// Colour arithmetic for the canvas: parse the colours the theme variables resolve to, mix them, pack them into
// ImageData pixels, and build level → pixel lookup tables. Pure (no DOM); the theme values come from theme.ts.

/** 8-bit sRGB channels and alpha in [0, 1]. */
export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

/**
 * Parses the colour forms a canvas' `fillStyle` normalizes to and VS Code's variables hold: #rgb, #rgba, #rrggbb,
 * #rrggbbaa, rgb()/rgba() with commas or spaces (percent alpha allowed). Undefined for anything else.
 */
export function parseColor(text: string): Rgba | undefined {
  const t = text.trim().toLowerCase();
  const hex = /^#([0-9a-f]{3,8})$/.exec(t);
  if (hex) {
    const h = hex[1];
    if (h.length === 3 || h.length === 4) {
      const d = [...h].map((c) => parseInt(c + c, 16));
      return { r: d[0], g: d[1], b: d[2], a: h.length === 4 ? d[3] / 255 : 1 };
    }
    if (h.length === 6 || h.length === 8) {
      const d = [0, 2, 4, 6].map((i) => parseInt(h.slice(i, i + 2), 16));
      return { r: d[0], g: d[1], b: d[2], a: h.length === 8 ? d[3] / 255 : 1 };
    }
    return undefined;
  }
  const fn = /^rgba?\(\s*([^)]*)\)$/.exec(t);
  if (!fn) return undefined;
  const parts = fn[1].split(/\s*[,/]\s*|\s+/).filter((p) => p.length > 0);
  if (parts.length !== 3 && parts.length !== 4) return undefined;
  const channel = (p: string): number =>
    p.endsWith('%') ? (parseFloat(p) * 255) / 100 : parseFloat(p);
  const [r, g, b] = parts.slice(0, 3).map(channel);
  const a = parts.length === 4 ? (parts[3].endsWith('%') ? parseFloat(parts[3]) / 100 : parseFloat(parts[3])) : 1;
  if (![r, g, b, a].every(Number.isFinite)) return undefined;
  return { r: clamp255(r), g: clamp255(g), b: clamp255(b), a: Math.min(1, Math.max(0, a)) };
}

/** `top` composited over an opaque `bottom` (theme colours may carry alpha; the canvas draws opaque pixels). */
export function over(top: Rgba, bottom: Rgba): Rgba {
  const a = top.a;
  return {
    r: Math.round(top.r * a + bottom.r * (1 - a)),
    g: Math.round(top.g * a + bottom.g * (1 - a)),
    b: Math.round(top.b * a + bottom.b * (1 - a)),
    a: 1,
  };
}

/** Linear mix in sRGB, like `color-mix(in srgb, to t·100%, from)`; t = 0 gives `from`, 1 gives `to`. */
export function mix(from: Rgba, to: Rgba, t: number): Rgba {
  return {
    r: Math.round(from.r + (to.r - from.r) * t),
    g: Math.round(from.g + (to.g - from.g) * t),
    b: Math.round(from.b + (to.b - from.b) * t),
    a: 1,
  };
}

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One opaque ImageData pixel as the Uint32 a `Uint32Array` view over `ImageData.data` holds (RGBA byte order). */
export function packPixel(c: Rgba): number {
  return littleEndian
    ? ((255 << 24) | (c.b << 16) | (c.g << 8) | c.r) >>> 0
    : ((c.r << 24) | (c.g << 16) | (c.b << 8) | 255) >>> 0;
}

/** The inverse of packPixel (tests and pixel assertions). */
export function unpackPixel(v: number): Rgba {
  return littleEndian
    ? { r: v & 255, g: (v >>> 8) & 255, b: (v >>> 16) & 255, a: (v >>> 24) / 255 }
    : { r: v >>> 24, g: (v >>> 16) & 255, b: (v >>> 8) & 255, a: (v & 255) / 255 };
}

/**
 * Level → pixel for levels 0..max: 0 is `background` exactly, max is `heat` exactly, and every level in between is at
 * least `floor` of the way to heat, so a cell one layer-head selected is still visible against the background.
 */
export function heatLut(max: number, background: Rgba, heat: Rgba, floor = 0.3): Uint32Array {
  const lut = new Uint32Array(max + 1);
  lut[0] = packPixel(background);
  for (let i = 1; i <= max; i++) lut[i] = packPixel(mix(background, heat, floor + ((1 - floor) * i) / max));
  return lut;
}

function clamp255(v: number): number {
  return Math.round(Math.min(255, Math.max(0, v)));
}

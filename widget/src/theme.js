// @ts-check
// Colours derived from the city's accent so contrast holds whatever colour is configured.

export const DEFAULT_ACCENT = "#00558c";

/** Parse "#rgb" or "#rrggbb" into [r, g, b] (0–255), or null. */
export function parseHex(value) {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
  if (!match) return null;
  let hex = match[1];
  if (hex.length === 3) hex = hex.replace(/./g, "$&$&");
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/**
 * WCAG relative luminance of an sRGB colour.
 * @param {number[]} rgb
 */
export function luminance(rgb) {
  const [r, g, b] = rgb;
  const channel = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG contrast ratio between two luminances. */
export function contrast(l1, l2) {
  const [hi, lo] = l1 > l2 ? [l1, l2] : [l2, l1];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * The theme for an accent colour: text on the accent is black or white, whichever contrasts
 * more (one of them always reaches 4.58:1), and focus rings fall back to near-black when the
 * accent is too pale to be seen on white (WCAG 1.4.11 asks 3:1).
 */
export function themeFor(accentValue) {
  const rgb = /** @type {number[]} */ (parseHex(accentValue) || parseHex(DEFAULT_ACCENT));
  const accent = `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
  const l = luminance(rgb);
  const onAccent = contrast(l, 1) >= contrast(l, 0) ? "#ffffff" : "#000000";
  const focus = contrast(l, 1) >= 3 ? accent : "#1b1b1b";
  return { accent, onAccent, focus };
}

// Class colours: "#rrggbb" -> [r, g, b], with a fallback for anything malformed.

export function rgb(colour) {
  const match = /^#([0-9a-f]{6})$/i.exec(String(colour || ""));
  if (!match) return [255, 0, 255];
  const n = parseInt(match[1], 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export const UNLABELLED = 255;

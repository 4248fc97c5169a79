// Tiles of the selected scene: on the geographic map for georeferenced scenes, in a pixel-coordinate
// viewer (L.CRS.Simple, docs/tiles.md) for images without a georeference.

import { failureMessage } from "./api.js";
import { cursorReadout, lonLatBounds } from "./geomap.js";

const L = window.L;
const OVERZOOM = 3; // zoom levels beyond the native resolution, up-sampled

export class SceneViewer {
  constructor({ geoMap, geoElement, pixelElement, caption, onError }) {
    this.geoMap = geoMap;
    this.geoElement = geoElement;
    this.pixelElement = pixelElement;
    this.caption = caption;
    this.onError = onError;
    this.pixelMap = null;
    this.layer = null;
    this.bounds = null;
  }

  get map() {
    return this.pixelMap || this.geoMap;
  }

  // Show `tilejson` (fetched for the chosen preset) at `opacity` (0..1) and zoom to it.
  show(tilejson, { opacity }) {
    this.close();
    if (tilejson.crs === "pixel") this.showPixels(tilejson, opacity);
    else this.showGeo(tilejson, opacity);
    this.layer.on("tileerror", (event) => this.tileFailed(event));
    this.zoomTo();
  }

  showGeo(tilejson, opacity) {
    this.bounds = lonLatBounds(tilejson.bounds);
    this.layer = L.tileLayer(tilejson.tiles[0], {
      bounds: this.bounds,
      maxNativeZoom: tilejson.maxzoom,
      maxZoom: 22,
      opacity,
      className: "scene-tiles",
    }).addTo(this.geoMap);
  }

  showPixels(tilejson, opacity) {
    const native = tilejson.maxzoom;
    this.geoElement.hidden = true;
    this.pixelElement.hidden = false;
    const map = L.map(this.pixelElement, {
      crs: L.CRS.Simple,
      minZoom: tilejson.minzoom,
      maxZoom: native + OVERZOOM,
      attributionControl: false,
    });
    this.pixelMap = map;
    // Image pixel (column, row) <-> LatLng at the native zoom, origin top-left, rows downwards.
    this.bounds = L.latLngBounds(map.unproject([0, tilejson.height], native), map.unproject([tilejson.width, 0], native));
    L.rectangle(this.bounds, { color: "#8a97a6", weight: 1, fill: false, interactive: false }).addTo(map);
    this.layer = L.tileLayer(tilejson.tiles[0], {
      bounds: this.bounds,
      noWrap: true,
      minZoom: tilejson.minzoom,
      maxNativeZoom: native,
      maxZoom: native + OVERZOOM,
      opacity,
      className: "scene-tiles",
    }).addTo(map);
    cursorReadout((latlng) => {
      const pixel = map.project(latlng, native);
      return `column ${Math.floor(pixel.x)}, row ${Math.floor(pixel.y)}`;
    }).addTo(map);
    this.caption.textContent = `Pixel image ${tilejson.width} × ${tilejson.height} px, in image coordinates (no georeference)`;
    this.caption.hidden = false;
  }

  setTiles(tilejson) {
    if (this.layer) this.layer.setUrl(tilejson.tiles[0]);
  }

  setOpacity(opacity) {
    if (this.layer) this.layer.setOpacity(opacity);
  }

  zoomTo() {
    if (this.bounds) this.map.fitBounds(this.bounds, { padding: [24, 24] });
  }

  close() {
    if (this.layer) this.layer.remove();
    this.layer = null;
    this.bounds = null;
    if (this.pixelMap) {
      this.pixelMap.remove();
      this.pixelMap = null;
      this.pixelElement.hidden = true;
      this.geoElement.hidden = false;
      this.caption.hidden = true;
      this.caption.textContent = "";
      this.geoMap.invalidateSize();
    }
  }

  // A tile that failed: 404 means "outside the scene" and is expected; anything else is reported once
  // per layer with the server's own message.
  async tileFailed(event) {
    const layer = this.layer;
    if (!layer || layer.reported) return;
    let message = null;
    try {
      const response = await fetch(event.tile.src, { credentials: "same-origin" });
      if (!response.ok && response.status !== 404) message = await failureMessage(response);
    } catch (error) {
      message = `the server cannot be reached (${error.message})`;
    }
    if (message === null || layer.reported) return;
    layer.reported = true;
    this.onError(new Error(`Tiles cannot be shown: ${message}`));
  }
}

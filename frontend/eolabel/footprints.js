// Scene footprints (GeoJSON polygons in EPSG:4326) drawn on the geographic map. A footprint too small to
// see at the current zoom also gets a dot at its centre, so every scene stays findable when zoomed out.

import { h } from "./dom.js";

const L = window.L;
const MIN_VISIBLE_PX = 12;

const OUTLINE = {
  normal: { color: "#2f6690", weight: 1.5, fillColor: "#3a7ca5", fillOpacity: 0.12 },
  hover: { color: "#1b4965", weight: 2.5, fillColor: "#3a7ca5", fillOpacity: 0.28 },
  selected: { color: "#c8553d", weight: 2.5, fillOpacity: 0 },
};
const DOT = {
  normal: { color: "#1b4965", weight: 1, fillColor: "#3a7ca5", fillOpacity: 0.7 },
  hover: { color: "#1b4965", weight: 2, fillColor: "#1b4965", fillOpacity: 0.9 },
  selected: { color: "#8f3423", weight: 2, fillColor: "#c8553d", fillOpacity: 0.9 },
};

// Polygons that cross the antimeridian: move the western hemisphere's longitudes by +360 so the
// polygon is drawn as one piece next to its eastern part instead of across the whole map.
function unwrapGeometry(geometry) {
  const shift = (ring) => ring.map(([lng, lat, ...rest]) => [lng < 0 ? lng + 360 : lng, lat, ...rest]);
  if (geometry.type === "Polygon") return { ...geometry, coordinates: geometry.coordinates.map(shift) };
  if (geometry.type === "MultiPolygon") {
    return { ...geometry, coordinates: geometry.coordinates.map((polygon) => polygon.map(shift)) };
  }
  return geometry;
}

export class Footprints {
  constructor(map, { onSelect }) {
    this.map = map;
    this.group = L.layerGroup().addTo(map);
    this.onSelect = onSelect;
    this.shapes = new Map(); // scene id -> {shape: layerGroup, outline, dot}
    this.selectedId = null;
    map.on("zoomend", () => this.updateDots());
  }

  show(scenes) {
    this.group.clearLayers();
    this.shapes.clear();
    for (const scene of scenes) {
      if (!scene.footprint) continue;
      const crosses = scene.bounds && scene.bounds[0] > scene.bounds[2];
      const geometry = crosses ? unwrapGeometry(scene.footprint) : scene.footprint;
      const outline = L.geoJSON(geometry, { style: { ...OUTLINE.normal, className: "footprint" } });
      const dot = L.circleMarker(outline.getBounds().getCenter(), { ...DOT.normal, radius: 5, className: "footprint-dot" });
      for (const layer of [outline, dot]) {
        layer.bindTooltip(h("span", {}, scene.name), { sticky: true, direction: "top" });
        layer.on("click", () => this.onSelect(scene));
        layer.on("mouseover", () => this.hover(scene.id, true));
        layer.on("mouseout", () => this.hover(scene.id, false));
      }
      const shape = L.layerGroup([outline]).addTo(this.group);
      this.shapes.set(scene.id, { shape, outline, dot });
    }
    this.updateDots();
  }

  updateDots() {
    for (const { shape, outline, dot } of this.shapes.values()) {
      const bounds = outline.getBounds();
      const ne = this.map.latLngToLayerPoint(bounds.getNorthEast());
      const sw = this.map.latLngToLayerPoint(bounds.getSouthWest());
      const small = Math.max(Math.abs(ne.x - sw.x), Math.abs(ne.y - sw.y)) < MIN_VISIBLE_PX;
      if (small && !shape.hasLayer(dot)) shape.addLayer(dot);
      else if (!small && shape.hasLayer(dot)) shape.removeLayer(dot);
    }
  }

  state(id, hovered) {
    if (id === this.selectedId) return "selected";
    return hovered ? "hover" : "normal";
  }

  hover(id, on) {
    const found = this.shapes.get(id);
    if (!found) return;
    const state = this.state(id, on);
    found.outline.setStyle(OUTLINE[state]);
    found.dot.setStyle(DOT[state]);
  }

  select(id) {
    const previous = this.selectedId;
    this.selectedId = id;
    for (const changed of [previous, id]) this.hover(changed, false);
    const found = this.shapes.get(id);
    if (found) found.outline.bringToFront();
  }

  bounds() {
    const bounds = L.latLngBounds([]);
    for (const { outline } of this.shapes.values()) bounds.extend(outline.getBounds());
    return bounds.isValid() ? bounds : null;
  }
}

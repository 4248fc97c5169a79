// The geographic map: no basemap (machines are offline), a light graticule, a scale and a cursor readout.

import { h } from "./dom.js";

const L = window.L;

export function createGeoMap(element) {
  const map = L.map(element, {
    center: [20, 0],
    zoom: 2,
    minZoom: 1,
    maxZoom: 22,
    attributionControl: false,
  });
  map.createPane("graticule").style.zIndex = 150; // under the scene tiles (tilePane is 200)
  graticule(map);
  L.control.scale({ imperial: false }).addTo(map);
  cursorReadout((latlng) => `${latlng.lat.toFixed(4)}°, ${latlng.lng.toFixed(4)}°`).addTo(map);
  return map;
}

function graticule(map, step = 10) {
  const minor = [];
  const major = [];
  for (let lng = -180; lng <= 180; lng += step) (lng === 0 ? major : minor).push([[-85, lng], [85, lng]]);
  for (let lat = -80; lat <= 80; lat += step) (lat === 0 ? major : minor).push([[lat, -180], [lat, 180]]);
  const style = { pane: "graticule", interactive: false, weight: 1 };
  L.polyline(minor, { ...style, color: "#cdd6e0" }).addTo(map);
  L.polyline(major, { ...style, color: "#a9b6c4" }).addTo(map);
}

// A small control showing what is under the mouse, formatted by `format(latlng)`.
export function cursorReadout(format) {
  const Readout = L.Control.extend({
    options: { position: "bottomright" },
    onAdd(map) {
      const element = h("div", { className: "cursor-readout", "aria-hidden": "true" });
      map.on("mousemove", (event) => {
        element.textContent = format(event.latlng);
      });
      map.on("mouseout", () => {
        element.textContent = "";
      });
      return element;
    },
  });
  return new Readout();
}

// Leaflet bounds of [west, south, east, north] degrees; scenes across the antimeridian (west > east) get
// east + 360 so the box stays one piece.
export function lonLatBounds([west, south, east, north]) {
  return L.latLngBounds([south, west], [north, east < west ? east + 360 : east]);
}

// A Leaflet layer holding the chip's drawing surfaces, stretched over the chip's bounds: canvases of exactly
// chip width x height (CSS-scaled, pixelated) and an SVG whose user units are chip pixels. Pointer positions
// are read back against the element's on-screen box, so what is painted is what is shown, pixel for pixel.

const L = window.L;

export const ChipLayer = L.Layer.extend({
  initialize(bounds, { width, height }) {
    this.bounds = L.latLngBounds(bounds);
    this.width = width;
    this.height = height;
    this.element = L.DomUtil.create("div", "chip-layer leaflet-interactive");
    L.DomEvent.disableClickPropagation(this.element);
  },

  // A canvas of the chip's size, stacked in the order added.
  addCanvas(className) {
    const canvas = L.DomUtil.create("canvas", `chip-canvas ${className}`, this.element);
    canvas.width = this.width;
    canvas.height = this.height;
    return canvas;
  },

  addSvg(className) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", `chip-svg ${className}`);
    svg.setAttribute("viewBox", `0 0 ${this.width} ${this.height}`);
    svg.setAttribute("preserveAspectRatio", "none");
    this.element.append(svg);
    return svg;
  },

  onAdd(map) {
    map.getPane("overlayPane").append(this.element);
    map.on("zoom viewreset resize", this._reset, this);
    this._reset();
  },

  onRemove(map) {
    map.off("zoom viewreset resize", this._reset, this);
    this.element.remove();
  },

  setOpacity(opacity) {
    this.element.style.opacity = String(opacity);
  },

  _reset() {
    const map = this._map;
    const topLeft = map.latLngToLayerPoint(this.bounds.getNorthWest());
    const bottomRight = map.latLngToLayerPoint(this.bounds.getSouthEast());
    L.DomUtil.setPosition(this.element, topLeft);
    this.element.style.width = `${bottomRight.x - topLeft.x}px`;
    this.element.style.height = `${bottomRight.y - topLeft.y}px`;
  },

  // Chip pixel coordinates (floats, 0..width x 0..height) of a pointer event.
  chipPoint(event) {
    const box = this.element.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) / box.width) * this.width,
      y: ((event.clientY - box.top) / box.height) * this.height,
    };
  },

  // Screen size of one chip pixel, for handles and hit tolerances.
  screenScale() {
    return this.element.getBoundingClientRect().width / this.width;
  },
});

// The class-mask editor. The truth is a Uint8Array of chip width x height class values (255 = unlabelled);
// tools change it, and one requestAnimationFrame per change copies it into the chip-sized canvas.

import { rgb, UNLABELLED } from "./colours.js";
import { History } from "./history.js";

const SVG = "http://www.w3.org/2000/svg";

// Integer pixel offsets covered by a round brush `size` pixels across, centred on a pixel.
export function brushOffsets(size) {
  const radius = size / 2;
  const reach = Math.floor(radius);
  const offsets = [];
  for (let dy = -reach; dy <= reach; dy += 1) {
    for (let dx = -reach; dx <= reach; dx += 1) if (dx * dx + dy * dy <= radius * radius) offsets.push([dx, dy]);
  }
  return offsets;
}

export class MaskEditor {
  constructor({ layer, classes, onChange }) {
    this.layer = layer;
    this.width = layer.width;
    this.height = layer.height;
    this.values = new Uint8Array(this.width * this.height).fill(UNLABELLED);
    this.colours = new Map(classes.map((c) => [c.value, rgb(c.colour)]));
    this.prelabelCanvas = layer.addCanvas("prelabel");
    this.prelabelCanvas.hidden = true;
    this.canvas = layer.addCanvas("mask");
    this.context = this.canvas.getContext("2d");
    this.image = this.context.createImageData(this.width, this.height);
    this.preview = layer.addSvg("polygon-preview");
    this.onChange = onChange;
    this.tool = "brush";
    this.cls = classes.length ? classes[0].value : 0;
    this.brushSize = 5;
    this.vertices = [];
    this.superpixels = null; // () => Promise<Int32Array> of labels, set by the page
    this.history = new History({ take: () => this.values.slice(), restore: (copy) => this.setValues(copy) });
    this.frame = 0;
    this.bind();
    this.render();
  }

  bind() {
    const element = this.layer.element;
    element.addEventListener("pointerdown", (event) => this.down(event));
    element.addEventListener("pointermove", (event) => this.move(event));
    element.addEventListener("pointerup", (event) => this.up(event));
    element.addEventListener("pointercancel", (event) => this.up(event));
    element.addEventListener("dblclick", () => this.closePolygon());
  }

  setValues(values) {
    this.values.set(values);
    this.schedule();
    this.onChange();
  }

  // The pre-label as the starting point, and as a reference overlay that can be toggled.
  setPrelabel(values) {
    this.setValues(values);
    this.history = new History({ take: () => this.values.slice(), restore: (copy) => this.setValues(copy) });
    const context = this.prelabelCanvas.getContext("2d");
    context.putImageData(this.paint(values, context.createImageData(this.width, this.height)), 0, 0);
  }

  togglePrelabel() {
    this.prelabelCanvas.hidden = !this.prelabelCanvas.hidden;
    this.canvas.hidden = !this.prelabelCanvas.hidden;
    return !this.prelabelCanvas.hidden;
  }

  pixel(event) {
    const point = this.layer.chipPoint(event);
    return { x: Math.floor(point.x), y: Math.floor(point.y), exact: point };
  }

  down(event) {
    if (event.button !== 0) return;
    const { x, y, exact } = this.pixel(event);
    if (this.tool === "brush" || this.tool === "eraser") {
      this.layer.element.setPointerCapture(event.pointerId);
      this.history.checkpoint();
      this.stroke = { x, y };
      this.stamp(x, y);
    } else if (this.tool === "polygon") {
      // A click adds a polygon vertex; a drag draws a lasso, filled when the button is released.
      this.layer.element.setPointerCapture(event.pointerId);
      this.lasso = { points: [[exact.x, exact.y]], moved: false };
    } else if (this.tool === "superpixel") {
      this.fillSuperpixel(x, y);
    }
  }

  move(event) {
    if (this.lasso) {
      this.extendLasso(this.pixel(event).exact);
      return;
    }
    if (!this.stroke) return;
    const { x, y } = this.pixel(event);
    const dx = x - this.stroke.x;
    const dy = y - this.stroke.y;
    const steps = Math.max(Math.abs(dx), Math.abs(dy));
    for (let i = 1; i <= steps; i += 1) {
      this.stamp(Math.round(this.stroke.x + (dx * i) / steps), Math.round(this.stroke.y + (dy * i) / steps));
    }
    this.stroke = { x, y };
  }

  up() {
    if (this.lasso) {
      const { points, moved } = this.lasso;
      this.lasso = null;
      if (moved && !this.drawingPolygon) this.fillLasso(points);
      else this.addVertex({ x: points[0][0], y: points[0][1] });
      return;
    }
    if (!this.stroke) return;
    this.stroke = null;
    this.onChange();
  }

  stamp(x, y) {
    const value = this.tool === "eraser" ? UNLABELLED : this.cls;
    for (const [dx, dy] of brushOffsets(this.brushSize)) {
      const px = x + dx;
      const py = y + dy;
      if (px >= 0 && py >= 0 && px < this.width && py < this.height) this.values[py * this.width + px] = value;
    }
    this.schedule();
  }

  // Polygon vertices snap to pixel corners; the polygon fills the pixels whose centres lie inside it.
  addVertex(point) {
    const vertex = [Math.round(point.x), Math.round(point.y)];
    const first = this.vertices[0];
    if (first && this.vertices.length >= 3 && first[0] === vertex[0] && first[1] === vertex[1]) {
      this.closePolygon();
      return;
    }
    this.vertices.push(vertex);
    this.drawPreview();
  }

  extendLasso(point) {
    const points = this.lasso.points;
    const [x0, y0] = points[0];
    const [xl, yl] = points[points.length - 1];
    if (Math.hypot(point.x - xl, point.y - yl) < 0.5) return;
    points.push([point.x, point.y]);
    if (Math.hypot(point.x - x0, point.y - y0) > 2) this.lasso.moved = true;
    if (this.lasso.moved && !this.drawingPolygon) this.drawPreview(points);
  }

  // The lasso's pixels: those whose centres lie inside the freehand outline (closed back to its start).
  fillLasso(points) {
    this.drawPreview();
    if (points.length < 3) return;
    this.history.checkpoint();
    fillPolygon(points, this.width, this.height, (x, y) => {
      this.values[y * this.width + x] = this.cls;
    });
    this.schedule();
    this.onChange();
  }

  get drawingPolygon() {
    return this.vertices.length > 0;
  }

  cancelPolygon() {
    this.vertices = [];
    this.drawPreview();
  }

  closePolygon() {
    const vertices = this.vertices;
    this.cancelPolygon();
    if (vertices.length < 3) return;
    this.history.checkpoint();
    fillPolygon(vertices, this.width, this.height, (x, y) => {
      this.values[y * this.width + x] = this.cls;
    });
    this.schedule();
    this.onChange();
  }

  drawPreview(points = this.vertices) {
    this.preview.replaceChildren();
    if (!points.length) return;
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", points.map((v) => v.join(",")).join(" "));
    line.setAttribute("class", "polygon-line");
    this.preview.append(line);
  }

  async fillSuperpixel(x, y) {
    if (!this.superpixels || x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const labels = await this.superpixels();
    const target = labels[y * this.width + x];
    this.history.checkpoint();
    for (let i = 0; i < labels.length; i += 1) if (labels[i] === target) this.values[i] = this.cls;
    this.schedule();
    this.onChange();
  }

  undo() {
    return this.history.undo();
  }

  redo() {
    return this.history.redo();
  }

  labelledCount() {
    return this.values.reduce((n, v) => n + (v === UNLABELLED ? 0 : 1), 0);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    this.context.putImageData(this.paint(this.values, this.image), 0, 0);
  }

  paint(values, image) {
    const data = image.data;
    for (let i = 0; i < values.length; i += 1) {
      const colour = this.colours.get(values[i]);
      if (!colour) {
        data[i * 4 + 3] = 0;
        continue;
      }
      data[i * 4] = colour[0];
      data[i * 4 + 1] = colour[1];
      data[i * 4 + 2] = colour[2];
      data[i * 4 + 3] = 255;
    }
    return image;
  }
}

// Even-odd scanline fill: calls set(x, y) for each pixel whose centre (x + 0.5, y + 0.5) is inside.
export function fillPolygon(vertices, width, height, set) {
  for (let y = 0; y < height; y += 1) {
    const cy = y + 0.5;
    const crossings = [];
    for (let i = 0; i < vertices.length; i += 1) {
      const [x0, y0] = vertices[i];
      const [x1, y1] = vertices[(i + 1) % vertices.length];
      if ((y0 <= cy && cy < y1) || (y1 <= cy && cy < y0)) crossings.push(x0 + ((cy - y0) * (x1 - x0)) / (y1 - y0));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const start = Math.max(0, Math.ceil(crossings[k] - 0.5));
      const end = Math.min(width - 1, Math.ceil(crossings[k + 1] - 0.5) - 1);
      for (let x = start; x <= end; x += 1) set(x, y);
    }
  }
}

// The box editor: boxes in chip pixels {x0, y0, x1, y1, class}, corners snapped to the pixel grid, drawn in an
// SVG whose user units are chip pixels. Drag on empty chip to draw, drag a box to move it, drag the selected
// box's corner to resize; one requestAnimationFrame per change redraws.

import { History } from "./history.js";

const SVG = "http://www.w3.org/2000/svg";
const HANDLE_SCREEN_PX = 10;

function clamp(value, low, high) {
  return Math.min(high, Math.max(low, value));
}

export class BoxEditor {
  constructor({ layer, classes, onChange }) {
    this.layer = layer;
    this.width = layer.width;
    this.height = layer.height;
    this.colours = new Map(classes.map((c) => [c.value, c.colour]));
    this.svg = layer.addSvg("boxes");
    this.onChange = onChange;
    this.cls = classes.length ? classes[0].value : 1;
    this.boxes = [];
    this.selected = -1;
    this.drag = null;
    this.frame = 0;
    this.history = new History({
      take: () => this.boxes.map((b) => ({ ...b })),
      restore: (copy) => {
        this.boxes = copy;
        this.selected = -1;
        this.changed();
      },
    });
    const element = layer.element;
    element.addEventListener("pointerdown", (event) => this.down(event));
    element.addEventListener("pointermove", (event) => this.move(event));
    element.addEventListener("pointerup", (event) => this.up(event));
    element.addEventListener("pointercancel", (event) => this.up(event));
  }

  setBoxes(boxes) {
    this.boxes = boxes.map((b) => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, class: b.class }));
    this.changed();
  }

  point(event) {
    const p = this.layer.chipPoint(event);
    return { x: clamp(Math.round(p.x), 0, this.width), y: clamp(Math.round(p.y), 0, this.height), raw: p };
  }

  // The selected box's corner under the pointer: [x key, y key] of the corner that moves.
  cornerAt(raw) {
    const box = this.boxes[this.selected];
    if (!box) return null;
    const tolerance = HANDLE_SCREEN_PX / this.layer.screenScale();
    for (const xKey of ["x0", "x1"]) {
      for (const yKey of ["y0", "y1"]) {
        if (Math.abs(raw.x - box[xKey]) <= tolerance && Math.abs(raw.y - box[yKey]) <= tolerance) return [xKey, yKey];
      }
    }
    return null;
  }

  boxAt(raw) {
    for (let i = this.boxes.length - 1; i >= 0; i -= 1) {
      const b = this.boxes[i];
      if (raw.x >= b.x0 && raw.x <= b.x1 && raw.y >= b.y0 && raw.y <= b.y1) return i;
    }
    return -1;
  }

  down(event) {
    if (event.button !== 0) return;
    this.layer.element.setPointerCapture(event.pointerId);
    const p = this.point(event);
    this.history.checkpoint();
    const corner = this.cornerAt(p.raw);
    if (corner) {
      const box = this.boxes[this.selected];
      const fixed = { x: corner[0] === "x0" ? box.x1 : box.x0, y: corner[1] === "y0" ? box.y1 : box.y0 };
      this.drag = { kind: "resize", fixed, moved: false };
    } else if (this.boxAt(p.raw) >= 0) {
      this.selected = this.boxAt(p.raw);
      this.drag = { kind: "move", start: p, origin: { ...this.boxes[this.selected] }, moved: false };
    } else {
      this.boxes.push({ x0: p.x, y0: p.y, x1: p.x, y1: p.y, class: this.cls });
      this.selected = this.boxes.length - 1;
      this.drag = { kind: "draw", fixed: { x: p.x, y: p.y }, moved: false };
    }
    this.schedule();
  }

  move(event) {
    if (!this.drag) return;
    const p = this.point(event);
    const box = this.boxes[this.selected];
    this.drag.moved = true;
    if (this.drag.kind === "move") {
      const { origin, start } = this.drag;
      const dx = clamp(p.x - start.x, -origin.x0, this.width - origin.x1);
      const dy = clamp(p.y - start.y, -origin.y0, this.height - origin.y1);
      Object.assign(box, { x0: origin.x0 + dx, x1: origin.x1 + dx, y0: origin.y0 + dy, y1: origin.y1 + dy });
    } else {
      const { fixed } = this.drag;
      Object.assign(box, {
        x0: Math.min(fixed.x, p.x),
        x1: Math.max(fixed.x, p.x),
        y0: Math.min(fixed.y, p.y),
        y1: Math.max(fixed.y, p.y),
      });
    }
    this.schedule();
  }

  up() {
    const drag = this.drag;
    if (!drag) return;
    this.drag = null;
    const box = this.boxes[this.selected];
    if (drag.kind === "draw" && (!box || box.x1 - box.x0 < 1 || box.y1 - box.y0 < 1)) {
      this.boxes.splice(this.selected, 1); // a click, not a box: it selects nothing
      this.selected = -1;
      this.history.drop();
    } else if (!drag.moved) {
      this.history.drop();
    }
    this.changed();
  }

  deleteSelected() {
    if (this.selected < 0) return false;
    this.history.checkpoint();
    this.boxes.splice(this.selected, 1);
    this.selected = -1;
    this.changed();
    return true;
  }

  // A class key: the selected box takes the class too.
  setClass(value) {
    this.cls = value;
    const box = this.boxes[this.selected];
    if (box && box.class !== value) {
      this.history.checkpoint();
      box.class = value;
      this.changed();
    }
  }

  undo() {
    return this.history.undo();
  }

  redo() {
    return this.history.redo();
  }

  changed() {
    this.schedule();
    this.onChange();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    const handle = HANDLE_SCREEN_PX / 2 / this.layer.screenScale();
    const shapes = [];
    this.boxes.forEach((box, index) => {
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", box.x0);
      rect.setAttribute("y", box.y0);
      rect.setAttribute("width", box.x1 - box.x0);
      rect.setAttribute("height", box.y1 - box.y0);
      rect.setAttribute("class", index === this.selected ? "box selected" : "box");
      rect.setAttribute("stroke", this.colours.get(box.class) || "#ff00ff");
      rect.dataset.index = String(index);
      shapes.push(rect);
      if (index !== this.selected) return;
      for (const [x, y] of [[box.x0, box.y0], [box.x1, box.y0], [box.x0, box.y1], [box.x1, box.y1]]) {
        const dot = document.createElementNS(SVG, "rect");
        dot.setAttribute("x", x - handle);
        dot.setAttribute("y", y - handle);
        dot.setAttribute("width", 2 * handle);
        dot.setAttribute("height", 2 * handle);
        dot.setAttribute("class", "box-handle");
        shapes.push(dot);
      }
    });
    this.svg.replaceChildren(...shapes);
  }
}

// One task on the map: the scene's tiles for context, the chip outline, the chip layer with its editor,
// the pre-label as the starting point. `label()` is what gets submitted.

import { lonLatBounds } from "../geomap.js";
import { BoxEditor } from "./boxes.js";
import { ChipLayer } from "./chiplayer.js";
import { MaskEditor } from "./mask.js";
import { ChipOverlays } from "./overlays.js";
import { base64, grayPng, imagePixels } from "./png.js";

const L = window.L;

export class TaskView {
  // `scene` is the scene's detail from the archive API: its bounds keep tile requests inside it.
  constructor({ map, task, scene, classes, taskType, opacity, onChange }) {
    this.map = map;
    this.task = task;
    this.scene = scene;
    this.startedAt = performance.now();
    const chip = task.chip;
    this.bounds = lonLatBounds(chip.bounds);
    this.tiles = this.sceneTiles(task.tile_url);
    this.outline = L.rectangle(this.bounds, {
      color: "#f4d35e",
      weight: 2,
      fill: false,
      interactive: false,
      className: "chip-outline",
    }).addTo(map);
    this.layer = new ChipLayer(this.bounds, { width: chip.width, height: chip.height }).addTo(map);
    this.layer.setOpacity(opacity);
    const Editor = taskType === "cloud-segmentation" ? MaskEditor : BoxEditor;
    this.editor = new Editor({ layer: this.layer, classes, onChange });
    this.overlays = new ChipOverlays({ layer: this.layer, taskId: task.id, classes }); // view only
    if (this.editor instanceof MaskEditor) {
      let labels = null;
      this.editor.superpixels = () => (labels ??= this.loadSuperpixels());
    }
    this.zoom();
  }

  sceneTiles(url) {
    return L.tileLayer(url, {
      maxZoom: 24,
      className: "scene-tiles",
      bounds: this.scene.bounds ? lonLatBounds(this.scene.bounds) : this.bounds,
    }).addTo(this.map);
  }

  get isMask() {
    return this.editor instanceof MaskEditor;
  }

  // Without animation: a pan to the next chip at the same zoom would otherwise glide for a quarter second,
  // and a click made meanwhile lands elsewhere than where it was aimed (what made the review test flaky).
  zoom() {
    this.map.fitBounds(this.bounds, { padding: [16, 16], animate: false });
  }

  async loadPrelabel() {
    const prelabel = this.task.prelabel;
    if (!prelabel) return false;
    if (prelabel.kind === "boxes") {
      this.editor.setBoxes(prelabel.boxes || []);
      return true;
    }
    const { data, width, height } = await imagePixels(prelabel.mask_url);
    if (width !== this.layer.width || height !== this.layer.height) return false;
    const values = new Uint8Array(width * height);
    for (let i = 0; i < values.length; i += 1) values[i] = data[i * 4];
    this.editor.setPrelabel(values);
    return true;
  }

  // Review: an annotation's current version as the starting point (for masks also the "original" overlay).
  async loadAnnotation(annotation) {
    if (annotation.kind === "boxes") {
      this.editor.setBoxes(annotation.boxes || []);
      return;
    }
    const { data, width, height } = await imagePixels(annotation.mask_url);
    if (width !== this.layer.width || height !== this.layer.height) throw new Error("the mask is not chip-sized");
    const values = new Uint8Array(width * height);
    for (let i = 0; i < values.length; i += 1) values[i] = data[i * 4];
    this.editor.setPrelabel(values);
  }

  // Whether anything was changed since the starting point (undoing every change counts as unchanged).
  get edited() {
    return this.editor.history.undoStack.length > 0;
  }

  async loadSuperpixels() {
    const { data, width, height } = await imagePixels(`/api/tasks/${this.task.id}/superpixels.png`);
    const labels = new Int32Array(width * height);
    for (let i = 0; i < labels.length; i += 1) labels[i] = (data[i * 4] << 16) | (data[i * 4 + 1] << 8) | data[i * 4 + 2];
    return labels;
  }

  presets() {
    return Object.keys(this.scene.presets?.presets || {});
  }

  setPreset(name) {
    const url = new URL(this.task.tile_url.replace("{z}/{x}/{y}", "ZXY"), window.location.origin);
    url.searchParams.set("preset", name);
    // A new layer rather than setUrl: Leaflet's redraw asks for fractional zooms (the map snaps to 0.25).
    this.tiles.remove();
    this.tiles = this.sceneTiles(`${url.pathname.replace("ZXY", "{z}/{x}/{y}")}${url.search}`);
  }

  setOpacity(opacity) {
    this.layer.setOpacity(opacity);
  }

  // The label body for the API.
  async label() {
    if (this.isMask) {
      const png = await grayPng(this.editor.values, this.layer.width, this.layer.height);
      return { mask_png: base64(png) };
    }
    return { boxes: this.editor.boxes.map((b) => ({ ...b })) };
  }

  remove() {
    for (const layer of [this.tiles, this.outline, this.layer]) layer.remove();
  }
}

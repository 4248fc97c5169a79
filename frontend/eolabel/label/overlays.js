// View-only overlays of the chip: the scene's reference labels (class colours) and the current model's
// uncertainty (a heat map). Each is its own canvas on the chip layer, above the label and ignoring the pointer;
// nothing here reads or writes the editor's values, so what is submitted is only what was drawn.

import { rgb, UNLABELLED } from "./colours.js";
import { blobPixels } from "./png.js";

export const OVERLAYS = ["reference", "uncertainty"];
const REFERENCE_ALPHA = 170;

export class OverlayError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "OverlayError";
    this.status = status;
  }
}

// Reference class values in the project's colours (unknown values magenta), 255 left transparent.
function paintReference(values, data, colours) {
  for (let i = 0; i < values.length; i += 1) {
    if (values[i] === UNLABELLED) continue;
    const colour = colours.get(values[i]) || [255, 0, 255];
    data.set([colour[0], colour[1], colour[2], REFERENCE_ALPHA], i * 4);
  }
}

// Uncertainty 0..255: transparent where the model is sure, yellow then red as it grows less sure.
function paintUncertainty(values, data) {
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    data.set([255, 255 - v, 0, Math.round(v * 0.8)], i * 4); // at most 80 %: the chip shows through
  }
}

const PAINT = { reference: paintReference, uncertainty: paintUncertainty };

async function fetchValues(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin" });
  } catch (error) {
    throw new OverlayError(`the server cannot be reached (${error.message})`, 0);
  }
  if (!response.ok) {
    let detail = `the server answered ${response.status}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not JSON: keep the status
    }
    throw new OverlayError(detail, response.status);
  }
  const { data, width, height } = await blobPixels(await response.blob());
  const values = new Uint8Array(width * height);
  for (let i = 0; i < values.length; i += 1) values[i] = data[i * 4];
  return { values, width, height };
}

export class ChipOverlays {
  constructor({ layer, taskId, classes }) {
    this.layer = layer;
    this.taskId = taskId;
    this.colours = new Map(classes.map((c) => [c.value, rgb(c.colour)]));
    this.canvases = {};
    this.loading = {};
    this.wanted = new Set();
  }

  // Whether the overlay is on (shown, or on its way).
  wants(name) {
    return this.wanted.has(name);
  }

  // Fetched once per task (a failed fetch may be tried again); true when it ends up shown, false when it was
  // turned off again while loading.
  async show(name) {
    this.wanted.add(name);
    this.loading[name] ??= this.load(name).catch((error) => {
      delete this.loading[name];
      throw error;
    });
    let canvas;
    try {
      canvas = await this.loading[name];
    } catch (error) {
      this.wanted.delete(name);
      throw error;
    }
    canvas.hidden = !this.wanted.has(name);
    return !canvas.hidden;
  }

  hide(name) {
    this.wanted.delete(name);
    if (this.canvases[name]) this.canvases[name].hidden = true;
  }

  async load(name) {
    const { values, width, height } = await fetchValues(`/api/tasks/${this.taskId}/${name}.png`);
    if (width !== this.layer.width || height !== this.layer.height) {
      throw new OverlayError(`the ${name} is ${width} × ${height} px, not the chip's size`, 200);
    }
    const canvas = this.layer.addCanvas(`overlay overlay-${name}`);
    canvas.hidden = true;
    const context = canvas.getContext("2d");
    const image = context.createImageData(width, height);
    PAINT[name](values, image.data, this.colours);
    context.putImageData(image, 0, 0);
    this.canvases[name] = canvas;
    return canvas;
  }
}

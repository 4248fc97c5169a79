// The map page: filters -> scene list + footprints -> the selected scene's tiles with a preset and opacity.

import { getAllPages, getJson } from "./api.js";
import { hideError, reportError } from "./banner.js";
import { breakableName, clear, formatAcquired, h } from "./dom.js";
import { Footprints } from "./footprints.js";
import { createGeoMap } from "./geomap.js";
import { SceneViewer } from "./viewer.js";

const app = document.getElementById("app");
const urls = { sensors: app.dataset.sensorsUrl, scenes: app.dataset.scenesUrl };
const filters = document.getElementById("filters");
const list = document.getElementById("scene-list");
const count = document.getElementById("scene-count");
const panel = {
  root: document.getElementById("scene-panel"),
  title: document.getElementById("scene-title"),
  meta: document.getElementById("scene-meta"),
  preset: document.getElementById("scene-preset"),
  opacity: document.getElementById("scene-opacity"),
  opacityValue: document.getElementById("scene-opacity-value"),
};

const geoMap = createGeoMap(document.getElementById("geo-map"));
const footprints = new Footprints(geoMap, { onSelect: (scene) => run(selectScene(scene.id)) });
const viewer = new SceneViewer({
  geoMap,
  geoElement: document.getElementById("geo-map"),
  pixelElement: document.getElementById("pixel-map"),
  caption: document.getElementById("viewer-caption"),
  onError: reportError,
});

let scenes = [];
let selected = null; // {detail}: the scene whose tiles are shown
let selection = 0; // increases with each click, so a slow answer for an older click is dropped

function run(promise) {
  promise.catch(reportError);
}

// --- filters <-> API parameters <-> the page address (so a reload keeps them)

function filterValues() {
  const data = new FormData(filters);
  return { sensor: data.get("sensor") || "", from: data.get("from") || "", to: data.get("to") || "" };
}

function apiParams({ sensor, from, to }) {
  return {
    sensor,
    acquired_after: from ? `${from}T00:00:00Z` : "",
    acquired_before: to ? `${to}T23:59:59Z` : "",
    limit: 500,
  };
}

function remember(values, sceneId) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  if (sceneId) query.set("scene", sceneId);
  const search = query.toString();
  history.replaceState(null, "", search ? `?${search}` : window.location.pathname);
}

async function loadSensors(current) {
  const sensors = await getJson(urls.sensors);
  const select = filters.elements.sensor;
  for (const sensor of sensors) {
    const option = new Option(sensor.name, sensor.name);
    option.title = sensor.title;
    select.append(option);
  }
  select.value = current;
}

// --- the scene list

function sceneItem(scene) {
  const meta = [scene.sensor, formatAcquired(scene.acquired)].join(" · ");
  const button = h(
    "button",
    {
      type: "button",
      className: "scene-item",
      dataset: { sceneId: scene.id },
      onclick: () => run(selectScene(scene.id)),
      onmouseenter: () => footprints.hover(scene.id, true),
      onmouseleave: () => footprints.hover(scene.id, false),
    },
    h("span", { className: "scene-name" }, breakableName(scene.name)),
    h("span", { className: "scene-meta" }, meta),
    scene.georeferenced ? null : h("span", { className: "badge" }, "pixel image"),
  );
  return h("li", {}, button);
}

function markSelected(id) {
  for (const button of list.querySelectorAll(".scene-item")) {
    const on = Number(button.dataset.sceneId) === id;
    button.classList.toggle("selected", on);
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

async function loadScenes({ fit }) {
  const values = filterValues();
  list.setAttribute("aria-busy", "true");
  count.textContent = "loading…";
  try {
    const page = await getAllPages(urls.scenes, apiParams(values));
    scenes = page.results;
    hideError();
    clear(list).append(...scenes.map(sceneItem));
    if (!scenes.length) list.append(h("li", { className: "empty" }, "No scene matches these filters."));
    const shown = scenes.length < page.count ? ` (first ${scenes.length} shown)` : "";
    count.textContent = `${page.count} scene${page.count === 1 ? "" : "s"}${shown}`;
    footprints.show(scenes);
    footprints.select(selected ? selected.detail.id : null);
    if (selected) markSelected(selected.detail.id);
    const bounds = footprints.bounds();
    if (fit && bounds && !selected) geoMap.fitBounds(bounds, { padding: [24, 24], maxZoom: 12 });
    remember(values, selected && selected.detail.id);
  } catch (error) {
    count.textContent = "";
    clear(list).append(h("li", { className: "empty" }, "The scene list could not be loaded."));
    throw error;
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

// --- the selected scene

function tilejsonParams() {
  return { preset: panel.preset.value };
}

async function selectScene(id) {
  const ticket = ++selection;
  markSelected(id);
  footprints.select(id);
  const detail = await getJson(`${urls.scenes}${id}/`);
  if (ticket !== selection) return;
  panel.title.replaceChildren(...breakableName(detail.name));
  const size = `${detail.width} × ${detail.height} px, ${detail.band_count} bands`;
  panel.meta.textContent = [detail.sensor, formatAcquired(detail.acquired), size].join(" · ");
  const presets = Object.keys(detail.presets.presets || {});
  panel.preset.replaceChildren(...presets.map((name) => new Option(name, name)));
  panel.preset.value = detail.presets.default || presets[0] || "";
  panel.preset.disabled = presets.length < 2;
  panel.root.hidden = false;
  list.querySelector(".scene-item.selected")?.scrollIntoView({ block: "nearest" });
  const tilejson = await getJson(detail.tilejson_url, tilejsonParams());
  if (ticket !== selection) return;
  selected = { detail };
  viewer.show(tilejson, { opacity: panel.opacity.value / 100 });
  remember(filterValues(), id);
}

async function changePreset() {
  if (!selected) return;
  const ticket = selection;
  const tilejson = await getJson(selected.detail.tilejson_url, tilejsonParams());
  if (ticket === selection) viewer.setTiles(tilejson);
}

function closeScene() {
  selection += 1;
  selected = null;
  viewer.close();
  panel.root.hidden = true;
  markSelected(null);
  footprints.select(null);
  remember(filterValues(), null);
}

// --- wiring

filters.addEventListener("submit", (event) => {
  event.preventDefault();
  run(loadScenes({ fit: true }));
});
filters.addEventListener("reset", () => {
  // After the browser has cleared the inputs.
  setTimeout(() => run(loadScenes({ fit: true })), 0);
});
panel.preset.addEventListener("change", () => run(changePreset()));
panel.opacity.addEventListener("input", () => {
  panel.opacityValue.textContent = `${panel.opacity.value} %`;
  viewer.setOpacity(panel.opacity.value / 100);
});
document.getElementById("scene-zoom").addEventListener("click", () => viewer.zoomTo());
document.getElementById("scene-close").addEventListener("click", closeScene);
window.addEventListener("unhandledrejection", (event) => reportError(event.reason));

async function start() {
  const query = new URLSearchParams(window.location.search);
  filters.elements.from.value = query.get("from") || "";
  filters.elements.to.value = query.get("to") || "";
  await loadSensors(query.get("sensor") || "").catch(reportError); // the list works without the sensor names
  await loadScenes({ fit: true });
  const sceneId = Number(query.get("scene"));
  if (sceneId) await selectScene(sceneId);
}

run(start());

// The dashboard map: the uncertainty layer (chip rectangles coloured by the current model's score), the
// comparison overlay of one scene (a server-made PNG placed at the scene's bounds, with the server's figures),
// and areas of interest, which managers draw by clicking vertices, and rename or delete in the areas table.

import { ApiError, failureMessage, getJson } from "../api.js";
import { h } from "../dom.js";
import { createGeoMap, lonLatBounds } from "../geomap.js";

const L = window.L;
// Five steps of a colour-blind-safe sequential ramp (viridis), low score to high score.
const RAMP = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];
const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);

function rampColour(value, [low, high]) {
  const t = high > low ? (value - low) / (high - low) : 1;
  return RAMP[Math.min(RAMP.length - 1, Math.max(0, Math.floor(t * RAMP.length)))];
}

// Styles go through the CSSOM: the page's Content-Security-Policy (style-src 'self') refuses style attributes.
export function paint(element, styles) {
  Object.assign(element.style, styles);
  return element;
}

function csrf() {
  return document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

// A JSON write (POST, PATCH, DELETE) with the CSRF token; null for a 204.
export async function sendJson(url, body, { method = "POST" } = {}) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new ApiError(await failureMessage(response), response.status);
  return response.status === 204 ? null : response.json();
}

export const postJson = (url, body) => sendJson(url, body);

export function dashboardMap(root, { onError }) {
  const map = createGeoMap(document.getElementById("dash-map"));
  const side = document.getElementById("map-side");
  const panels = { comparison: h("div"), uncertainty: h("div"), areas: h("div") };
  side.append(panels.comparison, panels.uncertainty, panels.areas);
  let extent = null;
  const grow = (bounds) => {
    extent = extent ? extent.extend(bounds) : L.latLngBounds(bounds.getSouthWest(), bounds.getNorthEast());
    map.fitBounds(extent, { padding: [16, 16] });
  };

  async function uncertainty() {
    const toggle = document.getElementById("layer-uncertainty");
    const select = document.getElementById("unc-scene");
    const summary = await getJson(root.dataset.uncertaintyScenesUrl);
    select.replaceChildren(h("option", { value: "" }, "all scenes"), ...summary.scenes.map((s) => h("option", { value: s.id }, s.name)));
    if (!map.getPane("uncertainty")) map.createPane("uncertainty").style.zIndex = 350; // over imagery, under comparisons
    let layer = null;
    const sync = () => layer && (toggle.checked ? layer.addTo(map) : layer.remove());
    toggle.addEventListener("change", sync);
    const table = () =>
      h(
        "table",
        { className: "data compact", "data-testid": "uncertainty-scenes" },
        h("thead", {}, h("tr", {}, h("th", {}, "Scene"), h("th", { className: "num" }, "chips"), h("th", { className: "num" }, "mean"), h("th", { className: "num" }, "max"))),
        h(
          "tbody",
          {},
          ...summary.scenes.map((s) =>
            h("tr", { className: String(s.id) === select.value ? "current" : "", onClick: () => { select.value = s.id; show().catch(onError); } }, h("td", {}, s.name), h("td", { className: "num" }, s.chips_scored), h("td", { className: "num" }, s.mean_score.toFixed(3)), h("td", { className: "num" }, s.max_score.toFixed(3))),
          ),
        ),
      );
    const show = async () => {
      const data = await getJson(root.dataset.uncertaintyUrl, { scene: select.value });
      const range = data.score_range || [0, 1];
      if (layer) layer.remove();
      layer = L.geoJSON(data, {
        pane: "uncertainty",
        style: (f) => ({ color: "#ffffff", weight: 0.5, fillColor: rampColour(f.properties.score, range), fillOpacity: 0.45 }),
        onEachFeature: (f, l) => l.bindTooltip(`chip ${f.properties.chip}: score ${f.properties.score.toFixed(3)}`),
      });
      sync();
      if (data.features.length) {
        if (select.value) map.fitBounds(layer.getBounds(), { padding: [16, 16] });
        else grow(layer.getBounds());
      }
      panels.uncertainty.replaceChildren(
        h("h3", {}, "Uncertainty"),
        data.model_version
          ? h(
              "div",
              {},
              h("p", { className: "muted" }, `${data.features.length} chips scored by ${data.model_version}`),
              h("div", { className: "ramp" }, ...RAMP.map((c) => paint(h("span"), { background: c }))),
              h("div", { className: "ramp-labels" }, h("span", {}, range[0].toFixed(2)), h("span", {}, "score"), h("span", {}, range[1].toFixed(2))),
              summary.scenes.length ? table() : null,
            )
          : h("p", { className: "muted" }, "No model has scored this project yet."),
      );
    };
    select.addEventListener("change", () => show().catch(onError));
    await show();
  }

  async function comparison() {
    const options = await getJson(root.dataset.comparisonUrl);
    const [version, scene, reference] = ["cmp-version", "cmp-scene", "cmp-reference"].map((id) => document.getElementById(id));
    version.replaceChildren(...options.model_versions.map((v) => h("option", { value: v, selected: v === options.current_model_version }, v)));
    scene.replaceChildren(...options.scenes.map((s) => h("option", { value: s.id }, s.name)));
    // The other side: a reference mask of the scene ("reference:<name>") or another version ("version:<id>").
    const fillReferences = () => {
      const chosen = options.scenes.find((s) => String(s.id) === scene.value);
      const previous = reference.value;
      reference.replaceChildren(
        ...(chosen ? chosen.references : []).map((r) => h("option", { value: `reference:${r}` }, r)),
        ...options.model_versions.filter((v) => v !== version.value).map((v) => h("option", { value: `version:${v}` }, `model ${v}`)),
      );
      if ([...reference.options].some((o) => o.value === previous)) reference.value = previous;
    };
    fillReferences();
    let overlay = null;
    let imagery = null;
    const showImagery = async (chosen) => {
      if (imagery) imagery.remove();
      imagery = null;
      if (!chosen || !chosen.tilejson_url) return;
      const tilejson = await getJson(chosen.tilejson_url).catch(() => null); // imagery is context only
      if (!tilejson || !tilejson.tiles) return;
      imagery = L.tileLayer(tilejson.tiles[0], { bounds: lonLatBounds(tilejson.bounds), maxNativeZoom: tilejson.maxzoom, maxZoom: 22, className: "scene-tiles" }).addTo(map);
    };
    const show = async () => {
      if (!version.value || !scene.value || !reference.value) {
        panels.comparison.replaceChildren(h("h3", {}, "Comparison"), h("p", { className: "muted" }, "Needs a model version with mask pre-labels and a scene with a reference mask."));
        return;
      }
      const base = `${root.dataset.comparisonUrl}/scenes/${scene.value}`;
      const [side, name] = [reference.value.slice(0, reference.value.indexOf(":")), reference.value.slice(reference.value.indexOf(":") + 1)];
      const query = new URLSearchParams({ model_version: version.value, [side === "version" ? "against" : "reference"]: name });
      const figures = await getJson(`${base}?${query}`);
      await showImagery(options.scenes.find((s) => String(s.id) === scene.value));
      if (overlay) overlay.remove();
      if (figures.bounds) {
        const bounds = lonLatBounds(figures.bounds);
        overlay = L.imageOverlay(`${base}.png?${query}`, bounds, { className: "comparison-overlay", opacity: 0.9 }).addTo(map);
        grow(bounds);
      }
      panels.comparison.replaceChildren(
        h("h3", {}, `${version.value} against `, side === "version" ? `model ${name}` : name),
        h("dl", { className: "figures", "data-testid": "comparison-figures" }, h("dt", {}, "F2"), h("dd", {}, figures.f2 === null ? "–" : figures.f2.toFixed(3)), h("dt", {}, "Omission"), h("dd", {}, pct(figures.omission)), h("dt", {}, "Over-detection"), h("dd", {}, pct(figures.over_detection)), h("dt", {}, "Pixels compared"), h("dd", {}, Object.entries(figures.counts).filter(([k]) => k !== "nodata").reduce((a, [, n]) => a + n, 0))),
        h("ul", { className: "legend" }, ...options.legend.map((item) => h("li", {}, paint(h("span", { className: "swatch" }), { background: `rgba(${item.rgba.slice(0, 3).join(",")},${Math.max(item.rgba[3], 60) / 255})`, border: "1px solid #9aa5b1" }), item.label))),
      );
    };
    const safeShow = () => show().catch(onError);
    version.addEventListener("change", () => {
      fillReferences();
      safeShow();
    });
    reference.addEventListener("change", safeShow);
    scene.addEventListener("change", () => {
      fillReferences();
      safeShow();
    });
    await show();
  }

  async function areas({ canDraw, onSaved }) {
    const layer = L.geoJSON(null, {
      style: { color: "#c8553d", weight: 2, fillOpacity: 0.08 },
      onEachFeature: (f, l) => l.bindTooltip(h("span", {}, f.properties.name), { permanent: true, direction: "center", className: "area-label" }), // text, never HTML
    }).addTo(map);
    const list = h("div", { className: "area-list" });
    panels.areas.append(list);
    const load = async () => {
      const data = await getJson(root.dataset.areasUrl);
      layer.clearLayers();
      layer.addData(data);
      if (data.features.length) grow(layer.getBounds());
      list.replaceChildren(areaTable(data.features));
      return data;
    };
    const changed = async () => {
      await load();
      if (onSaved) await onSaved();
    };
    // One row per area; managers get Rename (an inline form) and Delete (asks again in the row). Names are text.
    const areaTable = (features) => {
      const head = h("tr", {}, h("th", {}, "Area"), canDraw ? h("th", {}, h("span", { className: "visually-hidden" }, "Actions")) : null);
      const rows = features.map((f) => areaRow(f.properties));
      if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: canDraw ? 2 : 1, className: "muted" }, "No area of interest yet.")));
      // The side panel is 260 px wide: a fixed layout, names that break anywhere, buttons that wrap.
      return paint(h("table", { className: "data", id: "areas" }, h("caption", {}, "Areas of interest"), h("thead", {}, head), h("tbody", {}, rows)), { tableLayout: "fixed" });
    };
    const areaRow = ({ id, name }) => {
      const nameCell = paint(h("td", {}, name), { overflowWrap: "anywhere" });
      const row = h("tr", { dataset: { areaId: id } }, nameCell);
      if (!canDraw) return row;
      const url = `${root.dataset.areasUrl}/${id}`;
      const actions = h("td", {});
      const act = (work) => async () => {
        try {
          await work();
        } catch (error) {
          onError(error);
        }
      };
      const idle = () =>
        actions.replaceChildren(
          h("button", { type: "button", className: "area-rename", "aria-label": `Rename ${name}`, onClick: startRename }, "Rename"),
          h("button", { type: "button", className: "area-delete", "aria-label": `Delete ${name}`, onClick: askDelete }, "Delete"),
        );
      const startRename = () => {
        const input = h("input", { type: "text", name: "name", required: true, maxlength: 200, "aria-label": `New name for ${name}` });
        input.value = name;
        paint(input, { width: "100%", boxSizing: "border-box", marginBottom: "0.25rem" });
        const form = h("form", { className: "area-rename-form" }, input, h("button", { type: "submit", className: "primary" }, "Save"), h("button", { type: "button", onClick: () => { nameCell.replaceChildren(name); idle(); } }, "Cancel"));
        form.addEventListener("submit", (event) => {
          event.preventDefault();
          act(async () => {
            await sendJson(url, { name: input.value }, { method: "PATCH" });
            await changed();
          })();
        });
        nameCell.replaceChildren(form);
        actions.replaceChildren();
        input.focus();
        input.select();
      };
      const askDelete = () =>
        actions.replaceChildren(
          h("span", {}, "Delete? "),
          h("button", { type: "button", className: "area-delete-confirm", onClick: act(async () => { await sendJson(url, undefined, { method: "DELETE" }); await changed(); }) }, "Yes, delete"),
          h("button", { type: "button", onClick: idle }, "Keep"),
        );
      idle();
      paint(actions, { textAlign: "right", width: "45%" });
      row.append(actions);
      return row;
    };
    await load();
    if (!canDraw) return;
    const button = document.getElementById("draw-area");
    let vertices = [];
    let sketch = null;
    const stop = () => {
      map.off("click", addVertex);
      map.doubleClickZoom.enable();
      if (sketch) sketch.remove();
      sketch = null;
      vertices = [];
      button.disabled = false;
      map.getContainer().classList.remove("drawing");
    };
    const addVertex = (event) => {
      vertices.push(event.latlng);
      if (sketch) sketch.remove();
      sketch = L.polygon(vertices, { color: "#1b4965", dashArray: "4 4" }).addTo(map);
      form.querySelector("button[type=submit]").disabled = vertices.length < 3;
    };
    const form = h(
      "form",
      { className: "area-form" },
      h("label", { for: "area-name" }, "Area name"),
      h("input", { id: "area-name", name: "name", type: "text", required: true, maxlength: 200 }),
      h("p", { className: "muted" }, "Click the map to add vertices (3 or more), then save."),
      h("div", { className: "actions" }, h("button", { type: "submit", className: "primary", disabled: true }, "Save area"), h("button", { type: "button", onClick: () => { stop(); form.remove(); } }, "Cancel")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ring = [...vertices, vertices[0]].map((p) => [p.lng, p.lat]);
      try {
        await postJson(root.dataset.areasUrl, { name: form.elements.name.value, geometry: { type: "Polygon", coordinates: [ring] } });
        stop();
        form.remove();
        await load();
        if (onSaved) await onSaved();
      } catch (error) {
        onError(error);
      }
    });
    button.addEventListener("click", () => {
      button.disabled = true;
      map.doubleClickZoom.disable();
      map.getContainer().classList.add("drawing");
      map.on("click", addVertex);
      form.reset();
      panels.areas.append(form);
      form.elements.name.focus();
    });
  }

  return { map, uncertainty, comparison, areas };
}

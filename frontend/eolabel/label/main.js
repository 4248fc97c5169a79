// The labelling page: lease the next task, edit its label, submit (Enter) or skip (S), and on to the next.
// A submission that gets no answer is retried with the same submission id until the server answers, so the
// work stays on the page and is stored once. In review mode (review.js) the same tools correct others' work.

import { getJson } from "../api.js";
import { hideError, reportError, showError } from "../banner.js";
import { h } from "../dom.js";
import { detailOf, makePost, NetworkError, newSubmissionId } from "./net.js";
import { OVERLAYS } from "./overlays.js";
import { ReviewFlow } from "./review.js";
import { TaskView } from "./task.js";

const L = window.L;
const app = document.getElementById("app");
const projectId = app.dataset.project;
const taskType = app.dataset.taskType;
const mode = app.dataset.mode;
const classes = JSON.parse(document.getElementById("label-classes").textContent);
const post = makePost(app.dataset.csrf);
const $ = (id) => document.getElementById(id);
const RETRY_SECONDS = [1, 2, 4, 8, 15];

const map = L.map($("label-map"), {
  center: [20, 0],
  zoom: 2,
  maxZoom: 24,
  zoomSnap: 0.25,
  zoomAnimation: false,
  attributionControl: false,
});
L.control.scale({ imperial: false }).addTo(map);

const state = {
  view: null,
  submissionId: null,
  startedAt: 0,
  busy: false,
  retry: 0,
  expired: false,
  cls: classes.length ? classes[0].value : 0,
  overlays: new Set(), // the overlays the annotator turned on, kept from task to task
};

function opacity() {
  return Number($("overlay-opacity").value) / 100;
}

function setStatus(text, kind = "") {
  const element = $("status");
  element.textContent = text;
  element.className = `status ${kind}`;
}

// --- palette, tools -------------------------------------------------------------------------------------

// The swatch colour goes through the CSSOM: the Content-Security-Policy refuses style attributes.
function swatchColour(colour) {
  const swatch = h("span", { className: "swatch-colour" });
  swatch.style.background = /^#[0-9a-f]{6}$/i.test(colour) ? colour : "#ff00ff";
  return swatch;
}

function buildPalette() {
  const buttons = classes.map((c, index) =>
    h(
      "button",
      { type: "button", className: "swatch", dataset: { value: String(c.value) }, role: "radio", onClick: () => chooseClass(c.value) },
      swatchColour(c.colour),
      h("span", { className: "swatch-name" }, c.name),
      h("kbd", {}, String(index + 1)),
    ),
  );
  $("palette").replaceChildren(...buttons);
  chooseClass(state.cls);
}

function chooseClass(value) {
  state.cls = value;
  for (const button of $("palette").children) {
    button.setAttribute("aria-checked", String(Number(button.dataset.value) === value));
  }
  if (state.view) {
    if (state.view.isMask) state.view.editor.cls = value;
    else state.view.editor.setClass(value);
  }
}

function chooseTool(tool) {
  if (!state.view || !state.view.isMask) return;
  state.view.editor.cancelPolygon();
  state.view.editor.tool = tool;
  for (const button of document.querySelectorAll("#tools [data-tool]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tool === tool));
  }
  $("label-map").dataset.tool = tool;
}

function edited() {
  if (!state.view) return;
  if (!state.view.isMask) $("box-count").textContent = String(state.view.editor.boxes.length);
}

// --- progress, tasks ------------------------------------------------------------------------------------

async function refreshProgress() {
  try {
    const progress = await getJson(`/api/projects/${projectId}/progress`);
    const p = progress.project;
    $("progress").textContent = `Today: ${progress.mine_today} by you · project: ${p.done} of ${p.chips} chips done`;
  } catch (error) {
    $("progress").textContent = "Progress unavailable";
  }
}

async function loadNext() {
  state.busy = true;
  setButtons(false);
  unmountTask();
  state.expired = false;
  setStatus("Loading the next task…");
  refreshProgress();
  const answer = await post(`/api/projects/${projectId}/tasks/next`).catch((error) => ({ error }));
  state.busy = false;
  if (answer.error || !answer.ok) {
    setStatus("");
    offerNext(answer.error ? `The next task cannot be loaded: ${answer.error.message}.` : detailOf(answer.body, answer.status));
    return;
  }
  const task = answer.body.task;
  if (!task) {
    setStatus(answer.body.reason || "Nothing left to label.", "done");
    $("task-info").textContent = "";
    return;
  }
  if (!task.chip.bounds) {
    setStatus("This chip is in an image without georeference, which this page cannot show yet. Skip it (S).", "warn");
    state.view = { task, isMask: false, remove() {}, editor: null };
    setButtons(true);
    $("submit").disabled = true;
    return;
  }
  await showTask(task, answer.body.resumed);
}

// The task's chip and scene on the map with the editor and the current tool settings: both modes use it.
async function mountTask(task) {
  let scene;
  try {
    scene = await getJson(`/api/scenes/${task.scene}/`);
  } catch (error) {
    reportError(error);
    scene = { bounds: null, presets: null };
  }
  state.view = new TaskView({ map, task, scene, classes, taskType, opacity: opacity(), onChange: edited });
  state.startedAt = performance.now();
  chooseClass(state.cls);
  if (state.view.isMask) state.view.editor.brushSize = Number($("brush-size").value);
  const tool = document.querySelector('#tools [aria-pressed="true"]');
  if (tool) chooseTool(tool.dataset.tool);
  fillPresets(state.view);
  for (const name of OVERLAYS) {
    const button = overlayButton(name);
    if (!button) continue;
    button.disabled = false;
    if (state.overlays.has(name)) showOverlay(state.view, name);
  }
  return state.view;
}

function unmountTask() {
  if (state.view) state.view.remove();
  state.view = null;
  $("next-task")?.remove();
  if ($("toggle-prelabel")) {
    $("toggle-prelabel").disabled = true;
    $("toggle-prelabel").setAttribute("aria-pressed", "false");
  }
  for (const name of OVERLAYS) {
    const button = overlayButton(name);
    if (!button) continue;
    button.disabled = true;
    button.setAttribute("aria-pressed", "false");
  }
}

async function showTask(task, resumed) {
  await mountTask(task);
  state.submissionId = newSubmissionId();
  window.eolabelTask = { id: task.id, submissionId: state.submissionId };
  const score = task.ranking.score === null ? "cold start" : `score ${task.ranking.score.toFixed(3)}`;
  const model = task.ranking.model_version ? ` · model ${task.ranking.model_version}` : "";
  $("task-info").textContent = `Task ${task.id} · chip ${task.chip.id} (${task.chip.width} × ${task.chip.height} px) · scene ${task.scene} · ${score}${model}${resumed ? " · resumed" : ""}`;
  setStatus(task.prelabel_note || "");
  edited();
  setButtons(true);
  try {
    const hasPrelabel = await state.view.loadPrelabel();
    if ($("toggle-prelabel")) $("toggle-prelabel").disabled = !hasPrelabel;
    if (hasPrelabel) setStatus(`Starting from model ${task.prelabel.model_version}'s pre-label.`);
  } catch (error) {
    setStatus(`The pre-label cannot be loaded (${error.message}): start from an empty label.`, "warn");
  }
  edited();
  $("label-map").dataset.task = String(task.id);
}

function fillPresets(view) {
  const names = view.presets();
  const current = new URL(view.task.tile_url, window.location.origin).searchParams.get("preset");
  $("preset").replaceChildren(...names.map((name) => h("option", { value: name, selected: name === current }, name)));
}

function setButtons(enabled) {
  for (const id of ["submit", "skip", "accept", "pass"]) if ($(id)) $(id).disabled = !enabled;
}

function offerNext(message, next = loadNext) {
  showError(message);
  if (!$("next-task")) {
    $("status").after(h("button", { type: "button", id: "next-task", className: "primary", onClick: next }, "Load the next task"));
  }
}

// --- submit, skip ---------------------------------------------------------------------------------------

async function submit() {
  const view = state.view;
  if (!view || !view.editor || state.busy || state.expired) return;
  state.busy = true;
  $("submit").disabled = true;
  hideError();
  const body = {
    submission_id: state.submissionId,
    seconds_spent: Math.round((performance.now() - state.startedAt) / 100) / 10,
    ...(await view.label()),
  };
  setStatus("Submitting…");
  let answer;
  try {
    answer = await post(`/api/tasks/${view.task.id}/annotations`, body);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    answer = null;
  }
  state.busy = false;
  if (answer === null || answer.status >= 500) {
    const wait = RETRY_SECONDS[Math.min(state.retry, RETRY_SECONDS.length - 1)];
    state.retry += 1;
    const why = answer === null ? "The network failed" : `The server failed (${answer.status})`;
    setStatus(`${why}: your work is kept on the page. Retrying in ${wait} s (press Enter to retry now).`, "warn");
    $("submit").disabled = false;
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(() => view === state.view && submit(), wait * 1000);
    return;
  }
  clearTimeout(state.retryTimer);
  state.retry = 0;
  if (answer.ok) {
    setStatus(answer.status === 201 ? "Saved." : "Saved (already received).", "ok");
    await loadNext();
    return;
  }
  $("submit").disabled = false;
  const detail = detailOf(answer.body, answer.status);
  if (answer.status === 409) {
    state.expired = true;
    $("submit").disabled = true;
    $("skip").disabled = true;
    const plain = /expired/i.test(detail)
      ? "Your time on this chip ran out (lease expired), so this label cannot be saved. The chip went back to the queue."
      : `This task cannot take a label any more: ${detail}.`;
    setStatus("");
    offerNext(plain);
    return;
  }
  showError(`Not saved: ${detail}. Your work is still on the page.`);
  setStatus("");
}

function openSkip() {
  if (!$("skip-form") || !state.view || state.busy || state.expired) return;
  $("skip-form").hidden = false;
  $("skip-reason").focus();
}

function closeSkip() {
  if (!$("skip-form")) return;
  $("skip-form").hidden = true;
  $("skip-reason").value = "";
}

async function skip(event) {
  event.preventDefault();
  const view = state.view;
  const reason = $("skip-reason").value.trim();
  if (!view || !reason || state.busy) return;
  state.busy = true;
  const answer = await post(`/api/tasks/${view.task.id}/skip`, { reason }).catch((error) => ({ error }));
  state.busy = false;
  if (answer.error) {
    showError(`Not skipped: ${answer.error.message}. Try again.`);
    return;
  }
  if (!answer.ok) {
    closeSkip();
    offerNext(`Not skipped: ${detailOf(answer.body, answer.status)}.`);
    return;
  }
  closeSkip();
  await loadNext();
}

// --- keyboard -------------------------------------------------------------------------------------------

const TOOL_KEYS = { b: "brush", e: "eraser", l: "polygon", f: "superpixel" };

function onKey(event) {
  const typing = event.target.closest("input, select, textarea");
  if (event.key === "Escape") {
    closeSkip();
    state.view?.editor?.cancelPolygon?.();
    return;
  }
  if (typing && event.target.type !== "range") return;
  const editor = state.view?.editor;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "y")) {
    event.preventDefault();
    if (editor) (event.shiftKey || key === "y" ? editor.redo() : editor.undo());
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (/^[1-9]$/.test(event.key)) {
    const c = classes[Number(event.key) - 1];
    if (c) chooseClass(c.value);
  } else if (event.key === "Enter") {
    event.preventDefault();
    if (editor?.drawingPolygon) editor.closePolygon();
    else if (review) review.save();
    else submit();
  } else if (review && key === "a") {
    review.accept();
  } else if (review && key === "n") {
    review.pass();
  } else if (!review && key === "s") {
    event.preventDefault();
    openSkip();
  } else if (TOOL_KEYS[key]) {
    chooseTool(TOOL_KEYS[key]);
  } else if (key === "p") {
    togglePrelabel();
  } else if (key === "r") {
    toggleOverlay("reference");
  } else if (key === "u") {
    toggleOverlay("uncertainty");
  } else if ((event.key === "Delete" || event.key === "Backspace") && editor?.deleteSelected) {
    editor.deleteSelected();
  }
}

function togglePrelabel() {
  const button = $("toggle-prelabel");
  if (!button || button.disabled || !state.view?.isMask) return;
  button.setAttribute("aria-pressed", String(state.view.editor.togglePrelabel()));
}

// --- view-only overlays: reference labels (R), model uncertainty (U) ----------------------------------------

function overlayButton(name) {
  const button = $(`toggle-${name}`);
  return button && !button.hidden ? button : null;
}

function toggleOverlay(name) {
  const button = overlayButton(name);
  const view = state.view;
  if (!button || button.disabled || !view?.overlays) return;
  if (view.overlays.wants(name)) {
    view.overlays.hide(name);
    state.overlays.delete(name);
    button.setAttribute("aria-pressed", "false");
    return;
  }
  state.overlays.add(name);
  showOverlay(view, name);
}

async function showOverlay(view, name) {
  const button = overlayButton(name);
  button.setAttribute("aria-pressed", "true");
  try {
    const shown = await view.overlays.show(name);
    if (view === state.view) button.setAttribute("aria-pressed", String(shown));
  } catch (error) {
    if (view !== state.view) return;
    button.setAttribute("aria-pressed", "false");
    // 403/404 hold for this task (no reference, no model yet...): the button waits for the next task.
    if (error.status === 403 || error.status === 404) button.disabled = true;
    const what = name === "reference" ? "Reference labels" : "Model uncertainty";
    setStatus(`${what}: ${error.message}.`, "warn");
  }
}

// --- wiring ---------------------------------------------------------------------------------------------

const review =
  mode === "review"
    ? new ReviewFlow({ projectId, post, mount: mountTask, unmount: unmountTask, setStatus, setButtons, offerNext, edited, view: () => state.view })
    : null;

document.addEventListener("keydown", onKey);
if (review) {
  $("submit").addEventListener("click", () => review.save());
  $("accept").addEventListener("click", () => review.accept());
  $("pass").addEventListener("click", () => review.pass());
} else {
  $("submit").addEventListener("click", submit);
  $("skip").addEventListener("click", openSkip);
  $("skip-form").addEventListener("submit", skip);
  $("skip-cancel").addEventListener("click", closeSkip);
}
$("zoom-chip").addEventListener("click", () => state.view?.zoom?.());
$("preset").addEventListener("change", (event) => state.view?.setPreset?.(event.target.value));
$("overlay-opacity").addEventListener("input", (event) => {
  $("overlay-opacity-value").textContent = `${event.target.value} %`;
  state.view?.setOpacity?.(opacity());
});
for (const name of OVERLAYS) overlayButton(name)?.addEventListener("click", () => toggleOverlay(name));
$("undo").addEventListener("click", () => state.view?.editor?.undo());
$("redo").addEventListener("click", () => state.view?.editor?.redo());
if ($("tools")) {
  for (const button of document.querySelectorAll("#tools [data-tool]")) {
    button.addEventListener("click", () => chooseTool(button.dataset.tool));
  }
  $("brush-size").addEventListener("input", (event) => {
    $("brush-size-value").textContent = `${event.target.value} px`;
    if (state.view?.isMask) state.view.editor.brushSize = Number(event.target.value);
  });
  $("toggle-prelabel").addEventListener("click", togglePrelabel);
} else {
  $("delete-box").addEventListener("click", () => state.view?.editor?.deleteSelected());
}

buildPalette();
if (review) {
  if (app.dataset.canReview === "true") review.load();
  else setStatus("Your role in this project does not include reviewing: only reviewers and managers review.", "warn");
} else if (app.dataset.canAnnotate === "true") loadNext();
else setStatus("Your role in this project does not include labelling.", "warn");

// Review mode: the oldest annotation by someone else waiting for review, shown with the labelling tools.
// Accept (A) keeps it as it is; a changed label is saved (Enter) as a correction, a new version of the
// annotation. Both name the version shown: when someone else got there first the server answers 409 and the
// page says so. Both are safe to repeat, so a request that got no answer is sent again as it was.

import { getJson } from "../api.js";
import { hideError } from "../banner.js";
import { detailOf, NetworkError } from "./net.js";

const $ = (id) => document.getElementById(id);
const RETRY_SECONDS = [1, 2, 4, 8, 15];

export class ReviewFlow {
  // `page` gives the shared page functions of main.js: mount(task) -> TaskView, unmount(), setStatus(text,
  // kind), setButtons(enabled), offerNext(message, next), edited(), view() -> the current TaskView.
  constructor({ projectId, post, ...page }) {
    this.projectId = projectId;
    this.post = post;
    this.page = page;
    this.annotation = null;
    this.busy = false;
    this.retry = 0;
    this.timer = 0;
  }

  async load(after = null) {
    clearTimeout(this.timer);
    this.busy = true;
    this.annotation = null;
    this.page.setButtons(false);
    this.page.unmount();
    this.page.setStatus("Loading the next annotation to review…");
    let body;
    try {
      body = await getJson(`/api/projects/${this.projectId}/reviews/next`, { after });
    } catch (error) {
      this.busy = false;
      this.page.setStatus("");
      this.page.offerNext(`The next annotation cannot be loaded: ${error.message}`, () => this.load(after));
      return;
    }
    $("progress").textContent = `Reviewed today: ${body.reviewed_today} by you · ${body.waiting} waiting for review`;
    if (!body.annotation) {
      this.busy = false;
      this.page.setStatus(body.reason || "Nothing to review.", "done");
      $("task-info").textContent = "";
      return;
    }
    await this.show(body.annotation, body.task);
    this.busy = false;
  }

  async show(annotation, task) {
    const view = await this.page.mount(task);
    this.annotation = annotation;
    $("task-info").textContent = `Annotation ${annotation.id} by ${annotation.author} · version ${annotation.version} · chip ${task.chip.id} (${task.chip.width} × ${task.chip.height} px) · scene ${task.scene}`;
    try {
      await view.loadAnnotation(annotation);
    } catch (error) {
      this.page.offerNext(`This annotation cannot be shown (${error.message}).`, () => this.pass());
      return;
    }
    if ($("toggle-prelabel")) $("toggle-prelabel").disabled = !view.isMask;
    this.page.edited();
    this.page.setButtons(true);
    this.page.setStatus(`Version ${annotation.version} by ${annotation.author}: accept it (A) or correct it and save (Enter).`);
    $("label-map").dataset.task = String(task.id);
    $("label-map").dataset.annotation = String(annotation.id);
  }

  pass() {
    if (this.busy) return;
    this.load(this.annotation ? this.annotation.id : null);
  }

  accept() {
    const view = this.page.view();
    if (!this.annotation || this.busy || !view) return;
    if (view.edited) {
      this.page.setStatus("You changed the label: save it as a correction (Enter), or undo your changes to accept the original.", "warn");
      return;
    }
    this.send("accept", { version: this.annotation.version }, "Accepted.");
  }

  async save() {
    const view = this.page.view();
    if (!this.annotation || this.busy || !view) return;
    if (!view.edited) {
      this.page.setStatus("Nothing changed: accept the annotation (A), or change it before saving a correction.", "warn");
      return;
    }
    const seconds = Math.round((performance.now() - (view.startedAt ?? performance.now())) / 100) / 10;
    const body = { version: this.annotation.version, seconds_spent: Math.min(seconds, 86400), ...(await view.label()) };
    this.send("correct", body, `Correction saved as version ${this.annotation.version + 1}.`);
  }

  // POST the decision; no answer or a 5xx: the same body again after a pause (the server ignores repeats).
  async send(action, body, done) {
    const annotation = this.annotation;
    this.busy = true;
    this.page.setButtons(false);
    hideError();
    this.page.setStatus(action === "accept" ? "Accepting…" : "Saving the correction…");
    let answer = null;
    try {
      answer = await this.post(`/api/annotations/${annotation.id}/${action}`, body);
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    this.busy = false;
    if (annotation !== this.annotation) return;
    if (answer === null || answer.status >= 500) {
      const wait = RETRY_SECONDS[Math.min(this.retry, RETRY_SECONDS.length - 1)];
      this.retry += 1;
      const why = answer === null ? "The network failed" : `The server failed (${answer.status})`;
      this.page.setStatus(`${why}: your work is kept on the page. Retrying in ${wait} s.`, "warn");
      this.page.setButtons(true);
      clearTimeout(this.timer);
      this.timer = setTimeout(() => annotation === this.annotation && this.send(action, body, done), wait * 1000);
      return;
    }
    this.retry = 0;
    if (answer.ok) {
      this.page.setStatus(done, "ok");
      await this.load(annotation.id);
      return;
    }
    const detail = detailOf(answer.body, answer.status);
    if (answer.status === 409) {
      this.page.setStatus("");
      this.page.offerNext(`Someone else changed or reviewed this annotation meanwhile, so your decision was not saved: ${detail}.`, () => this.load(annotation.id - 1));
      return;
    }
    this.page.setButtons(true);
    this.page.offerNext(`Not saved: ${detail}. Your work is still on the page.`, () => this.pass());
  }
}

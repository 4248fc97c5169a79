// The dashboard's panels: progress cards and the annotator table, the training loop (polled while a job runs),
// the model versions with their learning curve, and the vehicle counts chart. Figures come from the API as is.

import { getJson } from "../api.js";
import { clear, h } from "../dom.js";
import { barChart, lineChart } from "./charts.js";
import { paint } from "./map.js";

const pct = (v) => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);
const num = (v, digits = 1) => (v === null || v === undefined ? "–" : Number(v).toFixed(digits));
const when = (iso) => (iso ? iso.slice(0, 16).replace("T", " ") : "–");

export async function loadProgress(root) {
  const data = await getJson(root.dataset.progressUrl);
  const stats = document.getElementById("stats");
  const card = (label, value, note) =>
    h("div", { className: "stat" }, h("span", { className: "stat-value" }, value), h("span", { className: "stat-label" }, label), note ? h("span", { className: "stat-note" }, note) : null);
  const own = data.scope === "own";
  stats.replaceChildren(
    card("chips labelled", `${data.labelled} / ${data.chips}`, `${pct(data.chips ? data.labelled / data.chips : null)}`),
    card("reviewed", data.reviewed, "chips accepted or corrected"),
    card("done", data.done, `overlap ${data.overlap}`),
    card("queue depth", data.queue_depth, "chips available"),
    card("leases held", data.leases_held),
    card(own ? "your annotations" : "annotations", data.annotations),
    card(own ? "your annotations / hour" : "annotations / hour", num(data.per_hour), `24 h mean; ${data.last_hour} in the last hour`),
  );
  stats.removeAttribute("aria-busy");
  const body = clear(document.querySelector("#annotators tbody"));
  for (const row of data.annotators) {
    body.append(
      h("tr", {}, h("td", {}, row.username, h("span", { className: "muted role" }, ` ${row.role}`)), h("td", { className: "num" }, row.labels), h("td", { className: "num" }, row.reviewed), h("td", { className: "num" }, row.last_24h), h("td", { className: "num" }, num(row.median_seconds)), h("td", { className: "num", title: `${row.shared_chips} shared chips` }, pct(row.agreement)), h("td", { className: "num" }, row.leases_held)),
    );
  }
  if (!data.annotators.length) body.append(h("tr", {}, h("td", { colspan: 7, className: "muted" }, "No annotations yet.")));
  barChart(document.getElementById("hourly"), {
    values: data.hourly.map((b) => b.count),
    labels: data.hourly.map((b) => `${b.hour.slice(11, 13)}h`),
    label: "Annotations per hour over the last 24 hours",
  });
}

const WORKER = {
  idle: () => "idle: no job queued or running",
  waiting: (w) => `no worker has taken the queued job yet (${Math.round(w.waiting_s)} s)`,
  running: (w) => `working, heartbeat ${Math.round(w.heartbeat_age_s)} s ago`,
  silent: (w) => `silent: no heartbeat for ${w.heartbeat_age_s === null ? "ever" : `${Math.round(w.heartbeat_age_s)} s`} (the reaper re-queues after ${w.stale_after_s} s)`,
};

function progressBar(fraction, live) {
  const bar = paint(h("div", { className: `progress-bar${live ? " live" : ""}` }), { width: `${(fraction * 100).toFixed(1)}%` });
  return h("div", { className: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(fraction * 100) }, bar);
}

// The loop panel; the returned poll() re-reads the API every 3 s while a job is active, every 20 s otherwise,
// and calls onFinished when a job that was active has ended.
export function loopPanel(root, onFinished) {
  let timer = null;
  let wasActive = false;
  const render = (data) => {
    const status = document.getElementById("job-status");
    const job = data.active || data.jobs[0];
    const worker = h("p", { className: `worker worker-${data.worker.state}`, "data-testid": "worker-status" }, h("strong", {}, "Worker: "), WORKER[data.worker.state](data.worker));
    const pass = data.scoring_pass;
    const scoring = pass ? [h("p", { className: "muted" }, `scoring pass of ${pass.model_version}: ${pass.chunks_done} / ${pass.chunks_total} chunks`), progressBar(pass.chunks_total ? pass.chunks_done / pass.chunks_total : 0, true)] : [];
    if (!job) status.replaceChildren(worker, h("p", { className: "muted" }, "No training job yet."), ...scoring);
    else {
      const running = data.active !== null;
      status.replaceChildren(
        worker,
        h("p", {}, h("strong", {}, `${job.kind} job #${job.id}`), " ", h("span", { className: `state state-${job.state}` }, job.state), job.model_version ? ` → ${job.model_version}` : ""),
        progressBar(job.progress, running),
        h("p", { className: "muted" }, job.message || job.error || job.reason || ""),
        ...scoring,
      );
    }
    const p = data.policy;
    document.getElementById("policy").replaceChildren(
      h("dt", {}, "Retraining policy"), h("dd", {}, `every ${p.retrain_every_n} new training labels, at most every ${p.retrain_min_interval_minutes} min`),
      h("dt", {}, "New since last request"), h("dd", {}, `${p.new_since_last_request} of ${p.retrain_every_n}`),
      h("dt", {}, "Last request"), h("dd", {}, p.last_request_at ? `${when(p.last_request_at)} (${p.last_request_state})` : "none yet"),
      h("dt", {}, "Current model"), h("dd", {}, p.current_model_version || "none (cold start)"),
    );
    const jobs = clear(document.getElementById("jobs"));
    for (const j of data.jobs) {
      jobs.append(
        h("li", {}, h("details", {}, h("summary", {}, h("span", { className: `state state-${j.state}` }, j.state), ` #${j.id} ${j.kind} · ${when(j.created)}`, j.model_version ? ` · ${j.model_version}` : ""), h("pre", { className: "log" }, j.log || j.error || "(no log)"))),
      );
    }
    return data.active !== null;
  };
  const poll = async () => {
    clearTimeout(timer);
    const active = render(await getJson(root.dataset.loopUrl));
    if (wasActive && !active && onFinished) onFinished();
    wasActive = active;
    timer = setTimeout(() => poll().catch(() => {}), active ? 3000 : 20000);
  };
  return poll;
}

export async function loadModels(root) {
  const data = await getJson(root.dataset.modelsUrl);
  const body = clear(document.querySelector("#versions tbody"));
  for (const v of data.versions) {
    body.append(
      h("tr", { className: v.current ? "current" : "" }, h("td", {}, v.version), h("td", {}, when(v.created)), h("td", {}, v.parent || "–"), h("td", { className: "num" }, v.training_size), h("td", { className: "num", title: JSON.stringify(v.metrics) }, `${v.metric_name} ${num(v.metric, 3)}`), h("td", {}, v.promoted ? (v.current ? "current" : "yes") : "no")),
    );
  }
  if (!data.versions.length) body.append(h("tr", {}, h("td", { colspan: 6, className: "muted" }, "No model version yet.")));
  const series = [
    {
      name: `this project (${data.metric_name}, per version)`,
      className: "s-project",
      markers: true,
      points: data.curve.map((p) => ({ x: p.n_labels, y: p.value, emphasis: p.promoted, title: `${p.version}: ${p.value.toFixed(3)} at ${p.n_labels} labels${p.promoted ? " (promoted)" : ""}` })),
    },
  ];
  const sim = data.simulation || {};
  const simClass = { random: "s-random", entropy: "s-entropy" };
  for (const [strategy, points] of Object.entries(sim)) {
    const where = data.simulation_source && data.simulation_source.scope === "demo" ? "demo archive" : "this project";
    series.push({ name: `simulator (${where}): ${strategy}`, className: simClass[strategy] || "s-other", dashed: true, points: points.map((p) => ({ x: p.n_labels, y: p.value })) });
  }
  lineChart(document.getElementById("curve"), { series, label: "Learning curve", xLabel: "labels in the training set", yLabel: data.metric_name, yDomain: [0, 1] });
}

export async function loadCounts(root) {
  const data = await getJson(root.dataset.countsUrl);
  const byArea = new Map();
  for (const row of data.rows) {
    if (!row.date) continue;
    if (!byArea.has(row.area)) byArea.set(row.area, { predicted: [], reference: [] });
    const t = Date.parse(row.date);
    if (row.predicted !== null) byArea.get(row.area).predicted.push({ x: t, y: row.predicted, title: `${row.area} ${row.date}: ${row.predicted} predicted` });
    if (row.reference !== null) byArea.get(row.area).reference.push({ x: t, y: row.reference, title: `${row.area} ${row.date}: ${row.reference} reference` });
  }
  const series = [];
  let n = 0;
  for (const [area, lines] of byArea) {
    const className = `s-area${n % 4}`;
    series.push({ name: `${area} (model)`, className, markers: true, points: lines.predicted });
    if (lines.reference.length) series.push({ name: `${area} (reference)`, className, dashed: true, markers: true, points: lines.reference });
    n += 1;
  }
  lineChart(document.getElementById("counts-chart"), { series, label: "Vehicle counts per area", xLabel: "acquisition date", yLabel: "vehicles", xFormat: (t) => new Date(t).toISOString().slice(0, 10) });
  const errors = clear(document.querySelector("#count-errors tbody"));
  for (const e of data.errors) {
    errors.append(h("tr", {}, h("td", {}, e.area), h("td", { className: "num" }, e.dates), h("td", { className: "num" }, num(e.mae, 2)), h("td", { className: "num" }, e.mape === null ? "–" : `${num(e.mape)} %`), h("td", { className: "num" }, num(e.bias, 2))));
  }
  if (!data.errors.length) errors.append(h("tr", {}, h("td", { colspan: 5, className: "muted" }, "No date has both model and reference counts.")));
}

// The project dashboard: progress, the training loop (polled while a job runs), models and their learning
// curve, the map (uncertainty, comparison, areas of interest) and vehicle counts. Managers get the actions.

import { reportError } from "../banner.js";
import { dashboardMap, postJson } from "./map.js";
import { loadCounts, loadModels, loadProgress, loopPanel } from "./panels.js";

const root = document.getElementById("dashboard");
const manager = root.dataset.manager === "true";
const cloud = root.dataset.task === "cloud-segmentation";
const run = (promise) => promise.catch(reportError);

const pollLoop = loopPanel(root, () => run(loadModels(root)));
run(loadProgress(root));
run(pollLoop());
run(loadModels(root));

const geo = dashboardMap(root, { onError: reportError });
run(geo.uncertainty());
if (cloud) run(geo.comparison());
else {
  run(geo.areas({ canDraw: manager, onSaved: () => loadCounts(root) }));
  run(loadCounts(root));
}

if (manager) {
  for (const [id, url] of [["retrain-now", root.dataset.retrainUrl], ["score-now", root.dataset.scoreUrl]]) {
    document.getElementById(id).addEventListener("click", () =>
      run(postJson(url).then(() => pollLoop())),
    );
  }
}

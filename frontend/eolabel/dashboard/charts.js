// Small inline-SVG charts (no chart library): a bar chart and a line chart with a legend. They only draw the
// figures they are given; every figure is computed by the server.

const NS = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = String(text);
  return el;
}

function frame(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "svg-chart" });
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * power >= value);
  return step * power;
}

function ticks(min, max, count) {
  return Array.from({ length: count + 1 }, (_, i) => min + ((max - min) * i) / count);
}

// Bars of `values` with `labels` under some of them (every `labelEvery`-th).
export function barChart(container, { values, labels, label, labelEvery = 3 }) {
  const width = 520;
  const height = 170;
  const pad = { left: 34, right: 8, top: 10, bottom: 24 };
  const svg = frame(width, height, label);
  const top = niceMax(Math.max(...values, 0));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const y = (v) => pad.top + innerH - (v / top) * innerH;
  for (const t of ticks(0, top, 4)) {
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t), class: "grid" }));
    svg.append(s("text", { x: pad.left - 4, y: y(t) + 4, class: "tick", "text-anchor": "end" }, Math.round(t)));
  }
  const slot = innerW / Math.max(values.length, 1);
  values.forEach((v, i) => {
    const x = pad.left + i * slot;
    const bar = s("rect", { x: x + 1, y: y(v), width: Math.max(slot - 2, 1), height: y(0) - y(v), class: "bar" });
    bar.append(s("title", {}, `${labels[i]}: ${v}`));
    svg.append(bar);
    if (i % labelEvery === 0) {
      svg.append(s("text", { x: x + slot / 2, y: height - 6, class: "tick", "text-anchor": "middle" }, labels[i]));
    }
  });
  container.replaceChildren(svg);
}

// Lines of `series` ([{name, points: [{x, y}], className, dashed, markers}]) on shared axes.
export function lineChart(container, { series, label, xLabel, yLabel, xFormat = (v) => v, yDomain }) {
  const width = 520;
  const height = 240;
  const pad = { left: 44, right: 12, top: 12, bottom: 40 };
  const svg = frame(width, height, label);
  const points = series.flatMap((line) => line.points);
  if (!points.length) {
    container.replaceChildren(Object.assign(document.createElement("p"), { className: "muted", textContent: "No data yet." }));
    return;
  }
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  let [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  const [yMin, yMax] = yDomain || [0, niceMax(Math.max(...ys))];
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const x = (v) => pad.left + ((v - xMin) / (xMax - xMin)) * innerW;
  const y = (v) => pad.top + innerH - ((v - yMin) / (yMax - yMin)) * innerH;
  for (const t of ticks(yMin, yMax, 4)) {
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y(t), y2: y(t), class: "grid" }));
    svg.append(s("text", { x: pad.left - 4, y: y(t) + 4, class: "tick", "text-anchor": "end" }, +t.toFixed(2)));
  }
  for (const t of ticks(xMin, xMax, 4)) {
    svg.append(s("text", { x: x(t), y: pad.top + innerH + 16, class: "tick", "text-anchor": "middle" }, xFormat(t)));
  }
  svg.append(s("text", { x: pad.left + innerW / 2, y: height - 4, class: "axis", "text-anchor": "middle" }, xLabel));
  svg.append(
    s("text", { x: 12, y: pad.top + innerH / 2, class: "axis", "text-anchor": "middle", transform: `rotate(-90 12 ${pad.top + innerH / 2})` }, yLabel),
  );
  for (const line of series) {
    if (!line.points.length) continue;
    const d = line.points.map((p, i) => `${i ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join("");
    svg.append(s("path", { d, class: `line ${line.className || ""}`, "stroke-dasharray": line.dashed ? "5 4" : "none" }));
    if (line.markers) {
      for (const p of line.points) {
        const dot = s("circle", { cx: x(p.x), cy: y(p.y), r: p.emphasis ? 5 : 3.5, class: `dot ${line.className || ""}${p.emphasis ? " emphasis" : ""}` });
        dot.append(s("title", {}, p.title || `${xFormat(p.x)}: ${p.y}`));
        svg.append(dot);
      }
    }
  }
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const line of series) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${line.className || ""}${line.dashed ? " dashed" : ""}`;
    item.append(swatch, document.createTextNode(line.name));
    legend.append(item);
  }
  container.replaceChildren(svg, legend);
}

// Sluice Streaming UI: polls the REST API every second and redraws the page.
// The charts are plain SVG (no library, nothing fetched from the internet).
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  return e;
}

function fmtMs(v) {
  if (v === null || v === undefined) return "-";
  if (v >= 1000) return (v / 1000).toFixed(2) + " s";
  return v.toFixed(v < 10 ? 2 : 0) + " ms";
}

function fmtTime(ms) {
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").replace("Z", "");
}

function fmtDuration(ms) {
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? h + " h " : "") + (h || m ? m + " min " : "") + (s % 60) + " s";
}

// A timeline: points [x, y], optional horizontal reference line at `ref`.
function timeline(svg, points, unit, ref) {
  svg.replaceChildren();
  const W = 520, H = 140, L = 46, B = 18, T = 8, R = 8;
  svg.appendChild(el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  if (points.length === 0) {
    svg.appendChild(el("text", { class: "lbl", x: L + 8, y: H / 2 }, "no completed batches yet"));
    return;
  }
  const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let ymax = Math.max(...ys, ref || 0) * 1.1 || 1;
  const sx = x => L + (x1 === x0 ? (W - L - R) / 2 : (x - x0) / (x1 - x0) * (W - L - R));
  const sy = y => H - B - y / ymax * (H - B - T);
  svg.appendChild(el("text", { class: "lbl", x: 2, y: T + 8 }, ymax.toFixed(ymax < 10 ? 1 : 0) + " " + unit));
  svg.appendChild(el("text", { class: "lbl", x: 2, y: H - B }, "0"));
  if (ref) {
    svg.appendChild(el("line", { class: "ref", x1: L, y1: sy(ref), x2: W - R, y2: sy(ref) }));
    svg.appendChild(el("text", { class: "lbl", x: W - R - 110, y: sy(ref) - 3 }, "batch interval " + fmtMs(ref)));
  }
  svg.appendChild(el("polyline", { class: "line", points: points.map(p => sx(p[0]) + "," + sy(p[1])).join(" ") }));
  svg.appendChild(el("text", { class: "lbl", x: L, y: H - 4 }, new Date(x0).toLocaleTimeString()));
  svg.appendChild(el("text", { class: "lbl", x: W - R - 60, y: H - 4 }, new Date(x1).toLocaleTimeString()));
}

// A histogram of values in 10 bins.
function histogram(svg, values, unit) {
  svg.replaceChildren();
  const W = 300, H = 140, L = 8, B = 18, T = 8, R = 8;
  svg.appendChild(el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  if (values.length === 0) return;
  const max = Math.max(...values) || 1, bins = new Array(10).fill(0);
  for (const v of values) bins[Math.min(9, Math.floor(v / max * 10))]++;
  const top = Math.max(...bins), bw = (W - L - R) / 10;
  bins.forEach((c, i) => {
    const h = c / top * (H - B - T);
    svg.appendChild(el("rect", { class: "bar", x: L + i * bw + 1, y: H - B - h, width: bw - 2, height: h }));
  });
  svg.appendChild(el("text", { class: "lbl", x: L, y: H - 4 }, "0"));
  svg.appendChild(el("text", { class: "lbl", x: W - R - 60, y: H - 4 }, max.toFixed(max < 10 ? 1 : 0) + " " + unit));
}

function row(table, cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    if (c instanceof Node) td.appendChild(c); else td.textContent = c;
    tr.appendChild(td);
  }
  table.appendChild(tr);
  return tr;
}

function batchLink(b) {
  const a = document.createElement("a");
  a.href = "/batch?time=" + b.batchTime;
  a.textContent = fmtTime(b.batchTime);
  return a;
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": " + r.status);
  return r.json();
}

async function refresh() {
  const [stats, batches, receivers, watermarks, models] = await Promise.all([
    getJson("/api/v1/streaming/statistics"),
    getJson("/api/v1/streaming/batches"),
    getJson("/api/v1/streaming/receivers"),
    getJson("/api/v1/streaming/watermarks"),
    getJson("/api/v1/models"),
  ]);
  document.getElementById("summary").textContent =
    "Running batches of " + fmtMs(stats.batchDuration) + " for " + fmtDuration(stats.uptimeMs) +
    " since " + fmtTime(stats.startTime) + " (" + stats.numTotalCompletedBatches +
    " completed batches, " + stats.numProcessedRecords + " records)" +
    (stats.numFailedBatches ? ", " + stats.numFailedBatches + " failed" : "");
  const done = batches.filter(b => b.status === "COMPLETED").reverse();
  const active = batches.filter(b => b.status !== "COMPLETED");
  document.getElementById("timelines-title").textContent =
    "Timelines (Last " + done.length + " batches, " + active.length + " active, " +
    stats.numTotalCompletedBatches + " completed)";
  const rate = done.map(b => [b.batchTime, b.inputSize * 1000 / b.batchDuration]);
  const sched = done.map(b => [b.batchTime, b.schedulingDelay || 0]);
  const proc = done.map(b => [b.batchTime, b.processingTime || 0]);
  const total = done.map(b => [b.batchTime, b.totalDelay || 0]);
  timeline(document.getElementById("tl-rate"), rate, "rec/s");
  histogram(document.getElementById("hist-rate"), rate.map(p => p[1]), "rec/s");
  timeline(document.getElementById("tl-sched"), sched, "ms");
  histogram(document.getElementById("hist-sched"), sched.map(p => p[1]), "ms");
  timeline(document.getElementById("tl-proc"), proc, "ms", stats.batchDuration);
  histogram(document.getElementById("hist-proc"), proc.map(p => p[1]), "ms");
  timeline(document.getElementById("tl-total"), total, "ms");
  histogram(document.getElementById("hist-total"), total.map(p => p[1]), "ms");
  document.getElementById("avg-rate").textContent =
    "Avg: " + (stats.avgInputRate === null ? "-" : stats.avgInputRate.toFixed(1) + " records/s");
  document.getElementById("receivers-line").textContent =
    "Receivers: " + stats.numActiveReceivers + " / " + stats.numReceivers + " active";
  document.getElementById("avg-sched").textContent = "Avg: " + fmtMs(stats.avgSchedulingDelay);
  document.getElementById("avg-proc").textContent = "Avg: " + fmtMs(stats.avgProcessingTime);
  document.getElementById("avg-total").textContent = "Avg: " + fmtMs(stats.avgTotalDelay);

  document.getElementById("models-section").hidden = models.length === 0;
  const mt = document.querySelector("#models tbody");
  mt.replaceChildren();
  for (const m of models) {
    const a = document.createElement("a");
    a.href = "/models?model=" + encodeURIComponent(m.name);
    a.textContent = m.name;
    row(mt, [a, m.keys.length + (m.keys.length ? " (" + m.keys.slice(0, 5).join(", ") + (m.keys.length > 5 ? ", …" : "") + ")" : "")]);
  }
  const wt = document.querySelector("#watermarks tbody");
  wt.replaceChildren();
  for (const w of watermarks) {
    row(wt, [w.operator, fmtTime(w.watermarkMs), w.lateRecords, w.stateSize]);
  }
  const rt = document.querySelector("#receivers tbody");
  rt.replaceChildren();
  for (const r of receivers) {
    row(rt, [r.streamName + " [" + r.streamId + "]", r.isActive ? "ACTIVE" : "INACTIVE",
      r.recordsStored, r.badRecords, r.lastErrorMessage || "-"]);
  }
  const at = document.querySelector("#active tbody");
  at.replaceChildren();
  for (const b of active) {
    row(at, [batchLink(b), b.inputSize, fmtMs(b.schedulingDelay), fmtMs(b.processingTime), b.status]);
  }
  document.getElementById("active-title").textContent = "Active Batches (" + active.length + ")";
  const ct = document.querySelector("#completed tbody");
  ct.replaceChildren();
  for (const b of done.slice().reverse().slice(0, 100)) {
    const tr = row(ct, [batchLink(b), b.inputSize, fmtMs(b.schedulingDelay), fmtMs(b.processingTime),
      fmtMs(b.totalDelay), b.numCompletedOutputOps + "/" + b.numTotalOutputOps, b.firstFailureReason || ""]);
    if (b.numFailedOutputOps) tr.className = "failed";
  }
  document.getElementById("completed-title").textContent =
    "Completed Batches (last " + Math.min(done.length, 100) + " out of " + stats.numTotalCompletedBatches + ")";
}

function sluiceMain() {
  const tick = () => refresh().catch(e => {
    document.getElementById("summary").textContent = "Cannot reach the job: " + e.message;
  });
  tick();
  setInterval(tick, 1000);
}

// Draws a job's RDDs as a graph: one column per stage (sources on the left), a box around
// each stage, solid edges inside a stage, dashed red edges for shuffles.
function dag(nodes) {
  const maxStage = Math.max(...nodes.map(n => n.stage));
  const cols = {};
  // Sources first within a column: the lineage lists the final RDD first.
  for (const n of nodes.slice().reverse()) (cols[n.stage] = cols[n.stage] || []).push(n);
  const BW = 190, BH = 40, GX = 60, GY = 16, PAD = 24;
  const rows = Math.max(...Object.values(cols).map(c => c.length));
  const W = (maxStage + 1) * (BW + GX) + PAD, H = rows * (BH + GY) + PAD * 2;
  const svg = el("svg", { class: "dag", viewBox: `0 0 ${W} ${H}`, width: W, height: H });
  const pos = {};
  for (let s = maxStage; s >= 0; s--) {
    const x = (maxStage - s) * (BW + GX) + PAD / 2;
    const col = cols[s] || [];
    svg.appendChild(el("rect", { class: "stage", x: x - 6, y: 4, width: BW + 12, height: H - 8, rx: 6 }));
    svg.appendChild(el("text", { class: "lbl", x: x, y: 16 }, "Stage " + s));
    col.forEach((n, i) => { pos[n.id] = { x, y: PAD + i * (BH + GY) }; });
  }
  for (const n of nodes) {
    n.parents.forEach((p, i) => {
      if (!pos[p] || !pos[n.id]) return;
      const a = pos[p], b = pos[n.id], cls = n.shuffle[i] ? "edge shuffle" : "edge";
      if (a.x === b.x) {
        // Same stage: a vertical edge between the boxes.
        const down = a.y < b.y;
        svg.appendChild(el("line", { class: cls, x1: a.x + BW / 2, y1: down ? a.y + BH : a.y,
          x2: b.x + BW / 2, y2: down ? b.y : b.y + BH }));
      } else {
        svg.appendChild(el("line", { class: cls, x1: a.x + BW, y1: a.y + BH / 2, x2: b.x, y2: b.y + BH / 2 }));
      }
    });
  }
  for (const n of nodes) {
    const p = pos[n.id];
    svg.appendChild(el("rect", { class: "rdd", x: p.x, y: p.y, width: BW, height: BH, rx: 4 }));
    svg.appendChild(el("text", { class: "rddname", x: p.x + 6, y: p.y + 16 }, n.name.slice(0, 28)));
    svg.appendChild(el("text", { class: "lbl", x: p.x + 6, y: p.y + 32 },
      n.kind + "[" + n.id + "] · " + n.partitions + " partitions"));
  }
  return svg;
}

async function sluiceBatch() {
  const time = new URLSearchParams(location.search).get("time");
  document.getElementById("batch-title").textContent = "Batch at " + fmtTime(Number(time));
  try {
    const b = await getJson("/api/v1/streaming/batches/" + encodeURIComponent(time));
    document.getElementById("batch-summary").textContent =
      "Status: " + b.status + " · Records: " + b.inputSize + " · Scheduling delay: " +
      fmtMs(b.schedulingDelay) + " · Processing time: " + fmtMs(b.processingTime) +
      " · Total delay: " + fmtMs(b.totalDelay);
    const ot = document.querySelector("#ops tbody");
    for (const o of b.outputOperations) {
      const tr = row(ot, [o.outputOpId, o.name, fmtMs(o.duration), o.status, o.failureReason || ""]);
      if (o.failureReason) tr.className = "failed";
    }
    const dags = document.getElementById("dags");
    for (const o of b.outputOperations) {
      if (!o.lineage || o.lineage.length === 0) continue;
      const h = document.createElement("h3");
      h.textContent = "Output operation " + o.outputOpId + ": " + o.name;
      dags.appendChild(h);
      dags.appendChild(dag(o.lineage));
    }
    const it = document.querySelector("#inputs tbody");
    for (const i of b.inputs) row(it, [i.streamId, i.numRecords, i.description]);
  } catch (e) {
    document.getElementById("batch-summary").textContent = "Batch not found: " + e.message;
  }
}

// ---- Model pages: a running lag model's series, predictions, alerts and coefficients. ----

const COEF_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
  "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

// Lines of several series over a shared x axis; `series` = [{cls|color, points: [[x, y]]}],
// `marks` = [[x, y]] drawn as dots.
function multiLine(svg, series, marks, W, H) {
  svg.replaceChildren();
  const L = 56, B = 18, T = 8, R = 8;
  svg.appendChild(el("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(el("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  const all = series.flatMap(s => s.points).concat(marks);
  if (all.length === 0) {
    svg.appendChild(el("text", { class: "lbl", x: L + 8, y: H / 2 }, "no points yet"));
    return;
  }
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const sx = x => L + (x1 === x0 ? (W - L - R) / 2 : (x - x0) / (x1 - x0) * (W - L - R));
  const sy = y => H - B - (y - y0) / (y1 - y0) * (H - B - T);
  svg.appendChild(el("text", { class: "lbl", x: 2, y: T + 8 }, y1.toPrecision(4)));
  svg.appendChild(el("text", { class: "lbl", x: 2, y: H - B }, y0.toPrecision(4)));
  svg.appendChild(el("text", { class: "lbl", x: L, y: H - 4 }, "t = " + x0));
  svg.appendChild(el("text", { class: "lbl", x: W - R - 70, y: H - 4 }, "t = " + x1));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const attrs = { class: s.cls || "line", points: s.points.map(p => sx(p[0]) + "," + sy(p[1])).join(" ") };
    if (s.color) attrs.style = "stroke:" + s.color;
    svg.appendChild(el("polyline", attrs));
  }
  for (const m of marks) {
    svg.appendChild(el("circle", { class: "alert", cx: sx(m[0]), cy: sy(m[1]), r: 4 }));
  }
}

function fillSelect(select, values, keep) {
  const current = keep && values.includes(select.value) ? select.value : values[0];
  select.replaceChildren();
  for (const v of values) {
    const o = document.createElement("option");
    o.value = v; o.textContent = v;
    select.appendChild(o);
  }
  if (current !== undefined) select.value = current;
}

async function refreshModels() {
  const models = await (await fetch("/api/v1/models")).json();
  const msel = document.getElementById("model"), ksel = document.getElementById("key");
  const summary = document.getElementById("model-summary");
  if (models.length === 0) {
    summary.textContent = "No model is running in this job.";
    return;
  }
  const params = new URLSearchParams(location.search);
  if (!msel.dataset.init) {
    fillSelect(msel, models.map(m => m.name), false);
    if (params.get("model")) msel.value = params.get("model");
    msel.dataset.init = "1";
  } else {
    fillSelect(msel, models.map(m => m.name), true);
  }
  const model = models.find(m => m.name === msel.value) || models[0];
  if (!ksel.dataset.init && model.keys.length > 0) {
    fillSelect(ksel, model.keys, false);
    if (params.get("key") && model.keys.includes(params.get("key"))) ksel.value = params.get("key");
    ksel.dataset.init = "1";
  } else {
    fillSelect(ksel, model.keys, true);
  }
  if (!ksel.value) {
    summary.textContent = "Model " + model.name + ": no key seen yet.";
    return;
  }
  const url = "/api/v1/models/" + encodeURIComponent(model.name) + "?key=" + encodeURIComponent(ksel.value);
  const points = await (await fetch(url)).json();
  const actual = points.map(p => [p.t, p.actual]);
  const predicted = points.filter(p => p.predicted !== null).map(p => [p.t, p.predicted]);
  const alerts = points.filter(p => p.alert !== null).map(p => [p.t, p.actual]);
  multiLine(document.getElementById("series"),
    [{ cls: "line", points: actual }, { cls: "line predicted", points: predicted }], alerts, 900, 260);
  const withCoef = points.filter(p => p.coefficients !== null);
  const n = withCoef.length ? withCoef[withCoef.length - 1].coefficients.length : 0;
  // [a_0, ..., a_n, c_1, ..., c_m, b]: the weights on one chart, the intercept on its own.
  const coefSeries = [];
  for (let i = 0; i + 1 < n; i++) {
    coefSeries.push({ color: COEF_COLORS[i % COEF_COLORS.length], points: withCoef.map(p => [p.t, p.coefficients[i]]) });
  }
  multiLine(document.getElementById("coefficients"), coefSeries, [], 900, 220);
  multiLine(document.getElementById("intercept"),
    n ? [{ cls: "line", points: withCoef.map(p => [p.t, p.coefficients[n - 1]]) }] : [], [], 900, 160);
  const legend = document.getElementById("coef-legend");
  legend.replaceChildren();
  for (let i = 0; i + 1 < n; i++) {
    const s = document.createElement("span");
    s.className = "sw"; s.style.background = COEF_COLORS[i % COEF_COLORS.length];
    legend.appendChild(s);
    legend.appendChild(document.createTextNode(" weight " + i + " "));
  }
  const last = points[points.length - 1];
  summary.textContent = "Model " + model.name + ", key " + ksel.value + ": " + points.length +
    " recent points, " + alerts.length + " alerts" +
    (last ? ", last t = " + last.t + ", actual " + last.actual.toPrecision(5) +
      (last.predicted !== null ? ", predicted " + last.predicted.toPrecision(5) : "") : "") + ".";
}

function sluiceModels() {
  const tick = () => refreshModels().catch(e => {
    document.getElementById("model-summary").textContent = "UI error: " + e;
  });
  document.getElementById("model").addEventListener("change", () => {
    document.getElementById("key").dataset.init = ""; tick();
  });
  document.getElementById("key").addEventListener("change", tick);
  tick();
  setInterval(tick, 1000);
}

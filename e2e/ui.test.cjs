// End-to-end test of the web UI in a real browser: starts `sluice demo`, opens its UI in
// headless Chromium (driven by playwright-core), checks that the charts and the batch table
// render and update without a reload, opens a batch's page, and saves screenshots.
// Also opens the model page of the traffic scenario's lag model.
// Run by scripts/test.sh: SLUICE_BIN=<sluice binary> NODE_PATH=<...> node --test e2e/ui.test.cjs
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const { spawn } = require("node:child_process");
const path = require("node:path");
const fs = require("node:fs");
const { chromium } = require("playwright-core");

const OUT = process.env.SLUICE_E2E_OUT || path.join(__dirname, "out");

function startDemo(extra) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.SLUICE_BIN, ["demo"].concat(extra || [
      "--ui-port", "0", "--interval-ms", "400", "--rate", "5000", "--top", "3",
      "--master", "local[2]",
    ]), { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    const timer = setTimeout(() => reject(new Error("no UI address from the demo:\n" + err)), 30000);
    child.stderr.on("data", (d) => {
      err += d.toString();
      const m = err.match(/Streaming UI at (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1] }); }
    });
    child.on("exit", (code) => reject(new Error("demo exited with " + code + ":\n" + err)));
  });
}

test("the streaming UI renders, updates live and shows batch details", async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const { child, url } = await startDemo();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    await page.goto(url);
    await page.waitForFunction(() =>
      /\((\d+) completed batches/.test(document.getElementById("summary").textContent)
      && document.querySelectorAll("#completed tbody tr").length >= 2, null, { timeout: 30000 });
    const count = async () => Number((await page.textContent("#summary")).match(/\((\d+) completed/)[1]);
    const first = await count();
    // Charts: a line in every timeline, bars in every histogram, the batch interval line.
    for (const id of ["rate", "sched", "proc", "total"]) {
      assert.ok(await page.$(`#tl-${id} polyline`), `timeline ${id} has a line`);
      assert.ok((await page.$$(`#hist-${id} rect`)).length > 0, `histogram ${id} has bars`);
    }
    assert.ok(await page.$("#tl-proc line.ref"), "processing time shows the batch interval");
    // Live: more batches appear without a reload.
    await page.waitForFunction((n) =>
      Number(document.getElementById("summary").textContent.match(/\((\d+) completed/)[1]) > n,
      first, { timeout: 30000 });
    assert.ok(await count() > first);
    await page.screenshot({ path: path.join(OUT, "ui.png"), fullPage: true });
    // A batch's page lists its output operations.
    await page.click("#completed tbody tr:first-child a");
    await page.waitForSelector("#ops tbody tr", { timeout: 30000 });
    const ops = await page.$$eval("#ops tbody tr", (rows) => rows.map((r) => r.textContent));
    assert.ok(ops.some((t) => t.includes("SUCCEEDED")), ops.join("\n"));
    // The job's stages drawn as a graph: the word count has a shuffle, so two stages.
    await page.waitForSelector("svg.dag rect.rdd");
    assert.ok((await page.$$("svg.dag rect.stage")).length >= 2, "at least two stages");
    assert.ok((await page.$$("svg.dag line.shuffle")).length >= 1, "a shuffle edge");
    await page.screenshot({ path: path.join(OUT, "batch.png"), fullPage: true });
  } finally {
    await browser.close();
    child.kill("SIGINT");
  }
});

test("a running model's page draws its series, predictions, alerts and coefficients", async () => {
  fs.mkdirSync(OUT, { recursive: true });
  const { child, url } = await startDemo([
    "traffic", "--ui-port", "0", "--interval-ms", "400", "--steps-per-batch", "40", "--top", "2",
    "--master", "local[2]",
  ]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    // The streaming page links to the model.
    await page.goto(url);
    await page.waitForSelector("#models tbody tr a", { timeout: 30000 });
    await page.click("#models tbody tr a");
    // Keys to choose from, the series against the prediction, the coefficients.
    await page.waitForFunction(() => document.querySelectorAll("#key option").length > 1
      && document.querySelectorAll("#series polyline").length === 2
      && document.querySelectorAll("#coefficients polyline").length === 5
      && document.querySelectorAll("#intercept polyline").length === 1, null, { timeout: 30000 });
    const keys = await page.$$eval("#key option", (o) => o.map((x) => x.value));
    // Another key redraws the charts for that key.
    await page.selectOption("#key", keys[1]);
    await page.waitForFunction((k) => document.getElementById("model-summary").textContent
      .includes("key " + k), keys[1], { timeout: 30000 });
    // Over enough steps some watched segment has an incident: its alerts are marked.
    let marked = false;
    for (let round = 0; round < 60 && !marked; round++) {
      for (const k of keys) {
        const res = await page.evaluate(async ([name, key]) => {
          const r = await fetch("/api/v1/models/" + encodeURIComponent(name) + "?key=" + encodeURIComponent(key));
          return (await r.json()).some((p) => p.alert !== null);
        }, [await page.$eval("#model", (s) => s.value), k]);
        if (res) {
          await page.selectOption("#key", k);
          await page.waitForSelector("#series circle.alert", { timeout: 30000 });
          marked = true;
          break;
        }
      }
      if (!marked) await page.waitForTimeout(500);
    }
    assert.ok(marked, "an alert is marked on some watched key's series");
    await page.screenshot({ path: path.join(OUT, "model.png"), fullPage: true });
  } finally {
    await browser.close();
    child.kill("SIGINT");
  }
});

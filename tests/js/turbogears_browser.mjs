// The TurboGears examples (hubbub.tgext_socketio) in headless Chromium with
// socket.io-client 0.9.16's browser build; prints one JSON object of what the
// pages showed on stdout.
//
//   node turbogears_browser.mjs pingpong <url> --transport websocket|xhr-polling|jsonp-polling
//   node turbogears_browser.mjs chat <url> --transport ... [--publish-cmd '{"argv": [...], "text": "..."}']...
//
// pingpong: page A logs in through the app's login form and clicks the four
// buttons of tgext's README page (Ping, Fireball, Auto, Error); page B stays
// anonymous and clicks Ping. The result has each page's #result lines after
// each click and the alerts they raised.
//
// chat: pages A and B open the chat and wait until subscribed; A sends a
// line, then B; then a plain TG controller publishes (GET /announce), then
// each --publish-cmd runs (another process publishing the message whose text
// it names). Each step waits for the line on both pages; the result has both
// pages' lines.
//
// Console errors/warnings, page errors and responses >= 400 are collected.
// Exits 0 when every step passed ("ok": true), 1 otherwise.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

import { launchChromium } from "./chromium.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const options = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const [app, url] = args;
const transport = option("--transport", "websocket");
const executablePath = option("--chromium", "/usr/bin/chromium");
const hardTimeout = Number(option("--timeout", "60000"));
const STEP_TIMEOUT = 8000;

const started = Date.now();
const result = { ok: false, app, transport, steps: [], console: [], pageErrors: [], badResponses: [], alerts: {} };
let browser = null;

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `hard timeout after ${hardTimeout} ms (last step: ${result.steps.at(-1)})`), hardTimeout);
if (!existsSync(executablePath)) finish(false, `no Chromium at ${executablePath}: run scripts/test`);

const step = (name) => result.steps.push(`${name} (${Date.now() - started} ms)`);
const poll = { timeout: STEP_TIMEOUT, polling: 50 }; // by time: rAF stops in background tabs

async function open(context, who, path) {
  const page = await context.newPage();
  result.alerts[who] = [];
  page.on("dialog", (dialog) => {
    result.alerts[who].push(dialog.message());
    dialog.accept();
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push({ page: who, type: m.type(), text: m.text() });
  });
  page.on("pageerror", (e) => result.pageErrors.push({ page: who, error: String(e) }));
  page.on("response", (r) => {
    if (r.status() >= 400) result.badResponses.push({ page: who, status: r.status(), url: r.url() });
  });
  if (path !== null) await goto(page, who, path);
  return page;
}

async function goto(page, who, path) {
  const sep = path.includes("?") ? "&" : "?";
  // not "load": a transport that holds a request open (jsonp-polling) may keep the page loading
  const response = await page.goto(`${url}${path}${sep}transport=${transport}`, { waitUntil: "domcontentloaded", timeout: STEP_TIMEOUT });
  if (!response || response.status() !== 200) throw new Error(`${who}: GET ${path} gave ${response && response.status()}`);
}

const transportOf = (page) => page.evaluate(() => io.sockets[Object.keys(io.sockets)[0]].transport.name);

// -- pingpong ------------------------------------------------------------------------

const resultLines = (page) => page.evaluate(() => document.getElementById("result").innerHTML.split("<br>").filter(Boolean));

async function click(page, attack, { lines = null, alerts = null, who }) {
  await page.click(`a[data-attack="${attack}"]`);
  try {
    await page.waitForFunction(
      ([n, a]) =>
        (n === null || document.getElementById("result").innerHTML.split("<br>").filter(Boolean).length >= n) &&
        (a === null || (window.__alerts || 0) >= a),
      [lines, alerts],
      poll,
    );
  } catch (err) {
    throw new Error(`${who} ${attack}: ${JSON.stringify(await resultLines(page))} alerts ${JSON.stringify(result.alerts[who])}`);
  }
}

async function pingpong() {
  browser = await launchChromium(executablePath);
  step("launched");

  // page A logs in (the form posts to TG's login handler, which redirects to the page)
  const a = await open(await browser.newContext(), "A", "/login");
  await a.fill('input[name="login"]', "alice");
  await a.fill('input[name="password"]', "secret");
  await Promise.all([a.waitForURL(/\/socketio\/page/, { timeout: STEP_TIMEOUT }), a.click("button")]);
  await goto(a, "A", "/socketio/page"); // again, with ?transport=
  await a.waitForFunction(() => document.getElementById("user").dataset.whoami, null, poll);
  const b = await open(await browser.newContext(), "B", "/socketio/page"); // a browser of its own: anonymous
  await b.waitForFunction(() => document.getElementById("user").dataset.whoami, null, poll);
  for (const page of [a, b]) {
    // count alerts in the page too, so waitForFunction can see them
    await page.evaluate(() => {
      const original = window.alert;
      window.alert = (m) => { window.__alerts = (window.__alerts || 0) + 1; original(m); };
    });
  }
  step("both pages connected");
  result.clientVersion = await a.evaluate(() => io.version);
  result.transports = { A: await transportOf(a), B: await transportOf(b) };
  result.users = {
    A: [await a.textContent("#user"), await a.evaluate(() => document.getElementById("user").dataset.whoami)],
    B: [await b.textContent("#user"), await b.evaluate(() => document.getElementById("user").dataset.whoami)],
  };

  const seen = {};
  await a.bringToFront();
  await click(a, "ping", { lines: 1, who: "A" });
  seen.ping = await resultLines(a);
  await click(a, "fireball", { lines: 11, who: "A" });
  seen.fireball = await resultLines(a);
  await click(a, "auto", { lines: 12, who: "A" });
  seen.auto = await resultLines(a);
  await click(a, "error", { alerts: 1, who: "A" });
  seen.error = await resultLines(a);
  step("A clicked the four buttons");
  await b.bringToFront();
  await click(b, "ping", { alerts: 1, who: "B" });
  step("B clicked ping");
  await b.waitForTimeout(300); // nothing arrives late
  result.lines = { A: seen, B: await resultLines(b), finalA: await resultLines(a) };
  await browser.close();
  browser = null;
}

// -- chat ------------------------------------------------------------------------------

const chatLines = (page) => page.$$eval("#lines p", (ps) => ps.map((p) => p.textContent));

async function waitLine(page, who, text) {
  try {
    await page.waitForFunction((t) => [...document.querySelectorAll("#lines p")].some((p) => p.textContent === t), text, poll);
  } catch (err) {
    throw new Error(`${who}: no line ${JSON.stringify(text)}: ${JSON.stringify(await chatLines(page))}`);
  }
}

async function say(page, text) {
  await page.bringToFront();
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

async function chat() {
  browser = await launchChromium(executablePath);
  const context = await browser.newContext();
  step("launched");
  const pages = {};
  for (const who of ["A", "B"]) {
    pages[who] = await open(context, who, "/");
    await pages[who].waitForSelector("#chat.subscribed", { timeout: STEP_TIMEOUT });
  }
  const { A: a, B: b } = pages;
  step("both pages subscribed");
  result.clientVersion = await a.evaluate(() => io.version);
  result.transports = { A: await transportOf(a), B: await transportOf(b) };
  const both = async (text) => {
    await waitLine(a, "A", text);
    await waitLine(b, "B", text);
  };

  await say(a, "hello from A");
  await both("hello from A");
  await say(b, "hello from B");
  await both("hello from B");
  step("pages talked");
  const announced = await fetch(`${url}/announce?message=${encodeURIComponent("from a controller")}`, { redirect: "manual" });
  result.announceStatus = announced.status;
  await both("from a controller");
  step("controller published");
  for (const command of options("--publish-cmd")) {
    const { argv, text } = JSON.parse(command);
    const proc = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", timeout: 20000 });
    if (proc.status !== 0) throw new Error(`${command} exited ${proc.status}: ${proc.stdout} ${proc.stderr}`);
    await both(text);
    step(`published by ${argv[0]}`);
  }
  await a.waitForTimeout(300); // nothing arrives late, or twice
  result.lines = { A: await chatLines(a), B: await chatLines(b) };
  await browser.close();
  browser = null;
}

({ pingpong, chat })[app]().then(
  () => finish(true),
  (err) => finish(false, err),
);

// Drives the chat of examples/webpy_chat or examples/django_chat_channels
// (the Socket.IO 0.6 client, new io.Socket(), with hubbub's channel
// extension) in headless Chromium and prints one JSON object of what the
// pages showed.
//
//   node v06_browser.mjs <url> --transport websocket|xhr-polling|jsonp-polling
//        [--rooms /room/1,/room/2] [--sysmsg /sysmsg] [--leave-timeout ms]
//        [--timeout ms] [--chromium path]
//
// Pages A and B open the first room, C the second (each with ?transport=<t>,
// which the page forces). All three pick a name; A and B talk; C talks too.
// Then a POST to the sysmsg URL sends a system message into the first room
// out of band. Finally C closes, then A: B sees A leave. Each page's #log
// (one line per message shown) is in the result, with the transport each
// page connected with. Console messages, page errors and responses >= 400
// are collected. Exits 0 when every step passed ("ok": true).

import { existsSync } from "node:fs";

import { launchChromium } from "./chromium.mjs";

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const valued = new Set(["--transport", "--timeout", "--chromium", "--rooms", "--sysmsg", "--tag", "--leave-timeout"]);
const url = args.find((a, i) => !a.startsWith("--") && !(i > 0 && valued.has(args[i - 1])));
const transport = option("--transport", "websocket");
const [room1, room2] = option("--rooms", "/room/1,/room/2").split(",");
const sysmsg = option("--sysmsg", "/sysmsg");
const tag = option("--tag", Math.random().toString(36).slice(2, 7));
const hardTimeout = Number(option("--timeout", "60000"));
const executablePath = option("--chromium", "/usr/bin/chromium");

const started = Date.now();
const result = { ok: false, transport, steps: [], console: [], pageErrors: [], badResponses: [] };
let browser = null;

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `hard timeout after ${hardTimeout} ms (last step: ${result.steps.at(-1)})`), hardTimeout);
if (!url) finish(false, "usage: node v06_browser.mjs <url> --transport <name>");
if (!existsSync(executablePath)) {
  finish(false, `no Chromium at ${executablePath}: install it (apt-get install chromium) or run scripts/test`);
}

const STEP_TIMEOUT = 10000;
const LEAVE_TIMEOUT = Number(option("--leave-timeout", "20000"));
const step = (name) => result.steps.push(`${name} (${Date.now() - started} ms)`);
const logOf = (page) => page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));

async function waitForLine(page, text, timeout = STEP_TIMEOUT) {
  try {
    await page.waitForFunction(
      (t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === t),
      text,
      { timeout, polling: 50 },
    );
  } catch (err) {
    throw new Error(`no ${JSON.stringify(text)} in the log: ${JSON.stringify(await logOf(page))}`);
  }
}

async function open(context, who, path) {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push({ page: who, type: m.type(), text: m.text() });
  });
  page.on("pageerror", (e) => result.pageErrors.push({ page: who, error: String(e) }));
  page.on("response", (r) => {
    if (r.status() >= 400) result.badResponses.push({ page: who, status: r.status(), method: r.request().method(), url: r.url() });
  });
  const response = await page.goto(`${url}${path}?transport=${transport}`, { waitUntil: "load", timeout: STEP_TIMEOUT });
  if (!response || response.status() !== 200) throw new Error(`${who}: GET ${path} gave ${response && response.status()}`);
  await page.waitForFunction(() => /^connected with /.test(document.getElementById("status").textContent), null, {
    timeout: STEP_TIMEOUT,
    polling: 50,
  });
  return page;
}

async function join(page, name) {
  await page.bringToFront();
  await page.fill("#name", name);
  await page.press("#name", "Enter");
  await page.waitForFunction(() => document.body.className === "started", null, { timeout: STEP_TIMEOUT, polling: 50 });
}

async function say(page, text) {
  await page.bringToFront();
  await page.fill("#message", text);
  await page.press("#message", "Enter");
}

async function main() {
  browser = await launchChromium(executablePath);
  const context = await browser.newContext();
  const a = await open(context, "A", room1);
  const b = await open(context, "B", room1);
  const c = await open(context, "C", room2);
  result.clientVersion = await a.evaluate(() => io.version);
  result.status = {};
  for (const [who, page] of Object.entries({ A: a, B: b, C: c })) result.status[who] = await page.textContent("#status");
  step("three pages connected");

  const names = { A: `ann-${tag}`, B: `bob-${tag}`, C: `cy-${tag}` };
  result.names = names;
  await join(a, names.A);
  await join(b, names.B);
  await waitForLine(a, `* ${names.B} joins`);
  await join(c, names.C);
  step("names");

  await say(a, "hello from A ü😀");
  await waitForLine(b, `${names.A}: hello from A ü😀`);
  await say(b, "hi A");
  await waitForLine(a, `${names.B}: hi A`);
  await say(c, "anyone?");
  await waitForLine(c, `${names.C}: anyone?`);
  step("messages");

  const posted = await fetch(`${url}${sysmsg}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: `room=1&message=${encodeURIComponent("system says hi " + tag)}`,
  });
  result.sysmsg = { status: posted.status, text: (await posted.text()).trim() };
  await waitForLine(a, `SYSTEM: system says hi ${tag}`);
  await waitForLine(b, `SYSTEM: system says hi ${tag}`);
  const nobody = await fetch(`${url}${sysmsg}`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "room=99&message=nobody",
  });
  result.sysmsgNobody = (await nobody.text()).trim();
  step("system message");

  await a.waitForTimeout(300); // nothing arrives late (C's lines must not reach A or B)
  const logs = { A: await logOf(a), C: await logOf(c) };
  await c.close();
  await a.close();
  // a polling page that goes away is noticed when its held poll ends and
  // the close timeout after it runs out
  await waitForLine(b, `* ${names.A} leaves`, LEAVE_TIMEOUT);
  step("A left");
  result.logs = { A: logs.A, B: await logOf(b), C: logs.C };
  await browser.close();
  browser = null;
}

main().then(
  () => finish(true),
  (err) => finish(false, err),
);

// Drives the testapp example (examples/testapp: socket.io-client 0.9.16's
// browser build against hubbub.gevent_socketio) in headless Chromium with two
// pages and prints one JSON object of what happened on stdout.
//
//   node legacy_browser.mjs <url> --transport websocket|xhr-polling|jsonp-polling
//           [--app testapp|simple_chat] [--timeout ms] [--chromium /usr/bin/chromium]
//
// (htmlfile needs IE's ActiveXObject: socket.io-client never picks it in Chromium)
//
// Both pages load <url>/?transport=<t> (the page sets io.transports = [t]
// before it connects). Page A uses the chat form, then clicks the seven test
// buttons and "Invite room1"; after each, the script waits for what the
// server answers to show in the pages' logs (#log, one line per event:
// "<namespace> <event>: <arguments as JSON>"), on A and, for broadcasts, the
// chat line and the invitation, on B. Button 7 (/chat disconnect) comes last
// but one; then button 2 again shows A's global namespace still works.
//
// --app simple_chat drives examples/simple_chat instead: two pages pick
// nicknames (the second first tries the first's: refused), talk, and the
// first leaves.
//
// Console messages, page errors and responses >= 400 are collected (the
// pytest side checks them). Exits 0 when every step passed (the result has
// "ok": true), 1 on a failed step ("ok": false and "error").

import { existsSync } from "node:fs";

import { launchChromium } from "./chromium.mjs";

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const valued = new Set(["--transport", "--timeout", "--chromium", "--app"]);
const url = args.find((a, i) => !a.startsWith("--") && !(i > 0 && valued.has(args[i - 1])));
const transport = option("--transport", "websocket");
const app = option("--app", "testapp"); // or simple_chat
const hardTimeout = Number(option("--timeout", "60000"));
const executablePath = option("--chromium", "/usr/bin/chromium");

const started = Date.now();
const result = { ok: false, app, transport, steps: [], console: [], pageErrors: [], badResponses: [] };
let browser = null;

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `hard timeout after ${hardTimeout} ms (last step: ${result.steps.at(-1)})`), hardTimeout);

if (!url) finish(false, "usage: node legacy_browser.mjs <url> --transport <name>");
if (!existsSync(executablePath)) {
  finish(false, `no Chromium at ${executablePath}: install it (apt-get install chromium) or run scripts/test`);
}

const STEP_TIMEOUT = 8000;

function step(name) {
  result.steps.push(`${name} (${Date.now() - started} ms)`);
}

async function logOf(page) {
  return page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
}

// waits until `page`'s log has `count` lines equal to `text` (or starting
// with it, when `prefix`)
async function waitForLog(page, text, { count = 1, prefix = false } = {}) {
  try {
    await page.waitForFunction(
      ([t, n, p]) =>
        [...document.querySelectorAll("#log li")].filter((li) =>
          p ? li.textContent.startsWith(t) : li.textContent === t,
        ).length >= n,
      [text, count, prefix],
      // poll by time: requestAnimationFrame (the default) stops in a background tab
      { timeout: STEP_TIMEOUT, polling: 50 },
    );
  } catch (err) {
    throw new Error(`no ${JSON.stringify(text)} (x${count}) in the log: ${JSON.stringify(await logOf(page))}`);
  }
}

async function open(context, who, path) {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push({ page: who, type: m.type(), text: m.text() });
  });
  page.on("pageerror", (e) => result.pageErrors.push({ page: who, error: String(e) }));
  page.on("response", (r) => {
    if (r.status() >= 400) {
      result.badResponses.push({ page: who, status: r.status(), method: r.request().method(), url: r.url() });
    }
  });
  const response = await page.goto(`${url}${path}?transport=${transport}`, { waitUntil: "load", timeout: STEP_TIMEOUT });
  if (!response || response.status() !== 200) throw new Error(`${who}: GET ${url}${path} gave ${response && response.status()}`);
  if (!(await page.evaluate(() => typeof io === "object" && io.version))) throw new Error(`${who}: socket.io.js did not load`);
  return page;
}

const transportOf = (page) => page.evaluate(() => io.sockets[Object.keys(io.sockets)[0]].transport.name);

async function load(context, who) {
  const page = await open(context, who, "/");
  // connected with the forced transport, and /chat told us our nickname
  await page.waitForFunction(() => /^connected with \S+ as guest-/.test(document.getElementById("status").textContent), null, {
    timeout: STEP_TIMEOUT,
    polling: 50,
  });
  await waitForLog(page, "/chat cpu_value: ", { prefix: true });
  return page;
}

async function launch() {
  browser = await launchChromium(executablePath);
  result.browserVersion = browser.version();
  step("launched");
  return browser.newContext({ viewport: { width: 900, height: 700 } });
}

async function testapp() {
  const context = await launch();

  const a = await load(context, "A");
  const b = await load(context, "B");
  await a.bringToFront(); // A is the page clicked; B works in the background
  step("both pages connected");
  result.clientVersion = await a.evaluate(() => io.version);
  result.status = { A: await a.textContent("#status"), B: await b.textContent("#status") };
  result.transports = {
    A: await transportOf(a),
    B: await transportOf(b),
  };
  const nickA = (await a.textContent("#status")).split(" as ")[1];
  const nickB = (await b.textContent("#status")).split(" as ")[1];
  result.nicknames = { A: nickA, B: nickB };

  // the chat form: to every other page (broadcast_event_not_me)
  await a.fill("#chatbox", "hello from A");
  await a.click("#submit");
  await waitForLog(b, '/ chat: "hello from A"');
  await waitForLog(a, '/ bob: {"hello":"world"}');
  step("chat form");

  // 1. emit: broadcast to every page, and 'bob' on A's /chat
  await a.click("#b1");
  await waitForLog(a, '/ broadcasted: [{"thank":"you"}]');
  await waitForLog(a, "/chat bob");
  await waitForLog(b, '/ broadcasted: [{"thank":"you"}]');
  step("1. emit");

  // 2. json send
  await a.click("#b2");
  await waitForLog(a, '/ got_some_json: {"blah":"a simple message"}');
  step("2. json send");

  // 3. send (and 'bob' again)
  await a.click("#b3");
  await waitForLog(a, '/ message: "got your message: a simple message"');
  await waitForLog(a, '/ broadcasted: [{"thank":"you"}]', { count: 2 });
  step("3. send");

  // 4. /chat: emit, send, json.send
  await a.click("#b4");
  await waitForLog(a, '/chat message: "little message back"');
  await waitForLog(a, '/chat message: {"blah":"blah"}');
  await waitForLog(a, '/chat pack: {"the":"more","you":"can"}', { count: 2 });
  await waitForLog(a, '/chat got_message: "hey"');
  await waitForLog(a, "/chat got_json: " + JSON.stringify({ asdfblah: "asd \rfé\n\\'blah" }));
  step("4. /chat emit, send, json");

  // 5. /chat: emit with an ack, answered by the handler's return value
  await a.click("#b5");
  await waitForLog(a, '/chat my_callback answered: 1, 2, {"this":"is sweet"}');
  step("5. emit with ack");

  // 6. /chat: the server emits with callbacks; send with a callback (automatic ack)
  await a.click("#b6");
  await waitForLog(a, '/chat callmeback: "this is a first param", "this is the last param"', { count: 2 });
  await waitForLog(a, '/chat server_callback: "first callback called", ["ackprm1","ackprm2"]');
  await waitForLog(a, '/chat server_callback: "second callback got", "ackprm1", "ackprm2"');
  await waitForLog(a, "/chat send acknowledged");
  await waitForLog(a, '/chat got_message: "a little message"');
  step("6. server callback");

  // Invite room1: to B, not back to A
  await a.click("#invite");
  await waitForLog(b, `/chat rtc_invite: ${JSON.stringify(nickA)}, ${JSON.stringify("an offer from " + nickA)}`);
  step("invite");

  // 7. /chat disconnect: A leaves /chat, B is told; A's global namespace stays
  await a.click("#b7");
  await waitForLog(a, "/chat disconnect");
  await waitForLog(b, `/chat left: ${JSON.stringify(nickA)}`);
  await a.click("#b2");
  await waitForLog(a, '/ got_some_json: {"blah":"a simple message"}', { count: 2 });
  step("7. /chat disconnect");

  // nothing arrives late (B's invitation had time to echo back, wrongly, to A)
  await a.waitForTimeout(300);
  result.logs = { A: await logOf(a), B: await logOf(b) };
  result.connected = {
    A: await a.evaluate(() => io.sockets[Object.keys(io.sockets)[0]].connected),
    B: await b.evaluate(() => io.sockets[Object.keys(io.sockets)[0]].connected),
  };
  await browser.close();
  browser = null;
}

// simple_chat: A and B pick nicknames (B first tries A's: refused), B
// writes to the room, A leaves
async function simpleChat() {
  const context = await launch();
  const lines = (page) => page.$$eval("#lines p", (ps) => ps.map((p) => p.textContent));
  const waitLine = async (page, text) => {
    try {
      await page.waitForFunction((t) => [...document.querySelectorAll("#lines p")].some((p) => p.textContent === t), text, {
        timeout: STEP_TIMEOUT,
        polling: 50,
      });
    } catch (err) {
      throw new Error(`no line ${JSON.stringify(text)}: ${JSON.stringify(await lines(page))}`);
    }
  };
  const nick = async (page, name) => {
    await page.bringToFront(); // as a person would, to type in it
    await page.fill("#nick", name);
    await page.press("#nick", "Enter");
  };
  const pages = {};
  for (const who of ["A", "B"]) {
    const page = await open(context, who, "/chat.html");
    await page.waitForSelector("#chat.connected", { timeout: STEP_TIMEOUT });
    pages[who] = page;
  }
  const { A: a, B: b } = pages;
  step("both pages connected");
  // names of their own: the server's list outlives this run
  const suffix = Math.random().toString(36).slice(2, 7);
  const alice = `alice-${suffix}`;
  const bob = `bob-${suffix}`;
  result.names = { A: alice, B: bob };
  result.transports = { A: await transportOf(a), B: await transportOf(b) };

  await nick(a, alice);
  await a.waitForSelector("#chat.nickname-set", { timeout: STEP_TIMEOUT });
  await nick(b, alice);
  await b.waitForSelector("#nickname-err", { state: "visible", timeout: STEP_TIMEOUT });
  result.refused = await b.isVisible("#nickname-err");
  await nick(b, bob);
  await b.waitForSelector("#chat.nickname-set", { timeout: STEP_TIMEOUT });
  await waitLine(a, `${bob} connected`);
  await a.waitForFunction((names) => names.every((n) => document.querySelector("#nicknames span").textContent.split(", ").includes(n)), [alice, bob], {
    timeout: STEP_TIMEOUT,
    polling: 50,
  });
  result.nicknames = await a.textContent("#nicknames span");
  step("nicknames");

  await b.bringToFront();
  await b.fill("#message", "hi alice");
  await b.press("#message", "Enter");
  await waitLine(a, `${bob}hi alice`);
  await a.bringToFront();
  await a.fill("#message", "hello bob");
  await a.click("#send-message button");
  await waitLine(b, `${alice}hello bob`);
  step("messages");

  // closing the tab: the page's pagehide handler tells the server
  await a.close({ runBeforeUnload: true });
  await waitLine(b, `${alice} disconnected`);
  await b.waitForFunction((n) => !document.querySelector("#nicknames span").textContent.split(", ").includes(n), alice, {
    timeout: STEP_TIMEOUT,
    polling: 50,
  });
  step("alice left");
  result.lines = { B: await lines(b) };
  result.finalNicknames = await b.textContent("#nicknames span");
  await browser.close();
  browser = null;
}

(app === "simple_chat" ? simpleChat() : testapp()).then(
  () => finish(true),
  (err) => finish(false, err),
);

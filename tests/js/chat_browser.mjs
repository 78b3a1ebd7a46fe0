// Drives the chat example (examples/chat) in headless Chromium with two pages
// and prints one JSON object of what happened on stdout.
//
//   node chat_browser.mjs <url> [--screenshot file.png] [--timeout ms]
//           [--chromium /usr/bin/chromium]
//
// Page A (alice) joins a room, then page B (bob) joins it: A must show the
// "bob joined" system line and B the member list. B types a message slowly:
// A must show "bob typing..." while B types; B sends it: A must show the
// message and the typing line must clear. A answers; B must show that. Page
// C tries a blank nickname: the server refuses it and the login form must say
// so; C then joins as carol. Then B closes: A must show "bob left", and A's
// member list follows all of this. Console messages and uncaught page errors
// are collected too (the pytest side checks them).
//
// Responses with a status >= 400 are listed in "badResponses". The refused
// nickname may legitimately cause one: socket.io-client closes its engine on
// the refusal, but has already sent the next long-poll GET, which then races
// the close packet POSTed after it and finds the session gone (a 400, as
// with the Node server); a pending websocket upgrade is dropped as well.
//
// Exits 0 when every step passed (the result has "ok": true), 1 on a failed
// step (the result has "ok": false and "error"), or when the hard timeout
// fires. playwright-core drives the system's Chromium: it downloads nothing.

import { existsSync } from "node:fs";

import { launchChromium } from "./chromium.mjs";

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const valued = new Set(["--screenshot", "--timeout", "--chromium"]);
const url = args.find((a, i) => !a.startsWith("--") && !(i > 0 && valued.has(args[i - 1])));
const screenshot = option("--screenshot", null);
const hardTimeout = Number(option("--timeout", "30000"));
const executablePath = option("--chromium", "/usr/bin/chromium");

const started = Date.now();
const result = { ok: false, steps: [], console: [], pageErrors: [], badResponses: [] };
let browser = null;

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  result.ms = Date.now() - started;
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

// the browser is killed by playwright's own exit handler when we exit here
setTimeout(() => finish(false, `hard timeout after ${hardTimeout} ms (last step: ${result.steps.at(-1)})`), hardTimeout);

if (!url) finish(false, "usage: node chat_browser.mjs <url> [--screenshot file.png] [--timeout ms]");
if (!existsSync(executablePath)) {
  finish(false, `no Chromium at ${executablePath}: install it (apt-get install chromium) or run scripts/test`);
}

function step(name) {
  result.steps.push(name);
}

const STEP_TIMEOUT = 5000;

async function lines(page) {
  return page.$$eval("#messages li", (lis) => lis.map((li) => ({ text: li.textContent, cls: li.className })));
}

async function waitForLine(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages li")].some((li) => li.textContent === t),
    text,
    { timeout: STEP_TIMEOUT },
  );
}

async function load(context, who) {
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push({ page: who, type: m.type(), text: m.text() });
  });
  page.on("pageerror", (e) => result.pageErrors.push({ page: who, error: String(e) }));
  page.on("response", (r) => {
    if (r.status() >= 400) {
      result.badResponses.push({ page: who, status: r.status(), method: r.request().method(), url: r.url(), t: Date.now() - started });
    }
  });
  const response = await page.goto(url, { waitUntil: "load", timeout: STEP_TIMEOUT });
  if (!response || response.status() !== 200) throw new Error(`${who}: GET ${url} gave ${response && response.status()}`);
  if (!(await page.evaluate(() => typeof io === "function"))) throw new Error(`${who}: socket.io client did not load`);
  return page;
}

async function join(page, nick, room) {
  await page.fill("#nick", nick);
  await page.fill("#room", room);
  await page.click("#login button");
  await page.waitForSelector(`body[data-joined="${room}"]`, { timeout: STEP_TIMEOUT });
}

async function open(context, who, nick, room) {
  const page = await load(context, who);
  await join(page, nick, room);
  return page;
}

async function waitForText(page, selector, text) {
  await page.waitForFunction(
    ([sel, t]) => document.querySelector(sel).textContent === t,
    [selector, text],
    { timeout: STEP_TIMEOUT },
  );
}

async function main() {
  browser = await launchChromium(executablePath);
  result.browserVersion = browser.version();
  step("launched");
  // two tabs of one browser window, like a person testing the chat by hand
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const room = "room" + Math.floor(Math.random() * 1e6);

  const a = await open(context, "A", "alice", room);
  step("alice joined");
  result.alice = { where: await a.textContent("#where"), members: await a.textContent("#members") };

  const b = await open(context, "B", "bob", room);
  step("bob joined");
  result.bob = { where: await b.textContent("#where"), members: await b.textContent("#members") };
  await waitForLine(a, "bob joined");
  step("alice saw 'bob joined'");
  await waitForText(a, "#members", "(alice, bob)");
  step("alice's member list has bob");

  // B types slowly; the indicator must show on A while B is still typing
  const text = "hello from bob";
  const seenTyping = a.waitForFunction(
    () => document.getElementById("typing").textContent,
    null,
    { timeout: STEP_TIMEOUT },
  );
  await b.click("#text");
  const typing = b.type("#text", text, { delay: 40 });
  result.typingSeen = await (await seenTyping).jsonValue();
  result.typingSeenWhileTyping = (await b.inputValue("#text")) !== text;
  await typing;
  step("alice saw bob typing");
  await b.press("#text", "Enter");
  await waitForLine(a, `bob: ${text}`);
  step("alice got bob's message");
  await b.waitForFunction((t) => [...document.querySelectorAll("#messages li")].some((li) => li.textContent === t), `bob: ${text}`, { timeout: STEP_TIMEOUT });
  step("bob got his own message");
  await a.waitForFunction(() => document.getElementById("typing").textContent === "", null, { timeout: STEP_TIMEOUT });
  result.typingAfterSend = await a.textContent("#typing");
  step("alice's typing line cleared");

  await a.fill("#text", "hi bob");
  await a.click("#send button");
  await waitForLine(b, "alice: hi bob");
  step("bob got alice's message");

  result.transports = {
    A: await a.evaluate(() => socket.io.engine.transport.name),
    B: await b.evaluate(() => socket.io.engine.transport.name),
  };
  result.alice.lines = await lines(a);
  result.bob.lines = await lines(b);
  if (screenshot) {
    await a.screenshot({ path: screenshot, fullPage: true });
    result.screenshot = screenshot;
    step("screenshot");
  }

  // a blank nickname is refused by the server: the login form says so, and
  // the next try with a real one goes through
  const c = await load(context, "C");
  await c.fill("#nick", "   ");
  await c.fill("#room", room);
  await c.click("#login button");
  await c.waitForFunction(() => document.getElementById("error").textContent, null, { timeout: STEP_TIMEOUT });
  result.refused = await c.textContent("#error");
  step("carol's blank nickname was refused");
  await join(c, "carol", room);
  await waitForLine(a, "carol joined");
  await waitForText(a, "#members", "(alice, bob, carol)");
  step("carol joined after the refusal");
  result.carol = {
    members: await c.textContent("#members"),
    error: await c.textContent("#error"),
    sid: await c.evaluate(() => socket.io.engine.id),
  };

  await b.close();
  await waitForLine(a, "bob left");
  step("alice saw 'bob left'");
  await waitForText(a, "#members", "(alice, carol)");
  step("alice's member list lost bob");
  result.alice.lines = await lines(a);
  result.alice.finalMembers = await a.textContent("#members");
  await browser.close();
  browser = null;
}

main().then(
  () => finish(true),
  (err) => finish(false, err),
);

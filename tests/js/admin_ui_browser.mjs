// Drives the Socket.IO admin UI (the npm package @socket.io/admin-ui, its
// ui/dist served by the test) in headless Chromium against hubbub servers,
// and prints one JSON object of what happened on stdout.
//
//   node admin_ui_browser.mjs --ui <url of ui/dist> --servers <url>[,<url>...]
//        --ids <serverId>[,...] --password <pw> [--read-only]
//        [--screenshot file.png] [--timeout ms] [--chromium /usr/bin/chromium]
//
// One socket.io-client 4 socket ("app") connects to each server. The page
// logs in to the first server (username "admin"), then must show every
// server (by its id) on the Servers page and every app socket on the Sockets
// page; the first app socket joins "lobby" and the Rooms page must show it.
// Then, unless --read-only, the page's disconnect button of the last app
// socket (on the last server: a remote socket) must disconnect that client.
// With --read-only, the Sockets page must show no disconnect button, and a
// _disconnect sent anyway (by a socket.io-client logged in to /admin) must be
// answered with an 'error' and leave the client connected.
//
// The page's fonts and icons come from CDNs: requests that leave 127.0.0.1
// are aborted (the tests run offline), so icons show as blanks.
//
// Exits 0 when every step passed ("ok": true), 1 otherwise.

import { createRequire } from "node:module";
import { existsSync } from "node:fs";

import { launchChromium } from "./chromium.mjs";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const uiUrl = option("--ui", null);
const servers = (option("--servers", "") || "").split(",").filter(Boolean);
const ids = (option("--ids", "") || "").split(",").filter(Boolean);
const password = option("--password", "");
const readOnly = args.includes("--read-only");
const screenshot = option("--screenshot", null);
const hardTimeout = Number(option("--timeout", "60000"));
const executablePath = option("--chromium", "/usr/bin/chromium");

const STEP_TIMEOUT = 10000;
const started = Date.now();
const result = { ok: false, steps: [], console: [], pageErrors: [] };
const sockets = [];

function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  result.ms = Date.now() - started;
  for (const s of sockets) s.close();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}

setTimeout(() => finish(false, `hard timeout after ${hardTimeout} ms (last step: ${result.steps.at(-1)})`), hardTimeout);

if (!uiUrl || !servers.length || ids.length !== servers.length) {
  finish(false, "usage: node admin_ui_browser.mjs --ui URL --servers URL,... --ids ID,... --password PW");
}
if (!existsSync(executablePath)) finish(false, `no Chromium at ${executablePath}`);

function step(name) {
  result.steps.push(name);
}

function within(promise, what, ms = STEP_TIMEOUT) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}

function connect(url, auth) {
  const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth });
  sockets.push(socket);
  socket.disconnectReason = null;
  socket.gone = new Promise((resolve) =>
    socket.on("disconnect", (reason) => {
      socket.disconnectReason = reason;
      resolve(reason);
    }),
  );
  return within(
    new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.once("connect_error", reject);
    }),
    `connect ${url}`,
  );
}

async function showRoute(page, hash) {
  await page.evaluate((h) => {
    window.location.hash = h;
  }, hash);
}

async function waitForText(page, texts, what) {
  await page.waitForFunction(
    (all) => all.every((t) => document.body.innerText.includes(t)),
    texts,
    { timeout: STEP_TIMEOUT },
  ).catch(async (err) => {
    result.bodyText = (await page.evaluate(() => document.body.innerText)).slice(0, 3000);
    throw new Error(`${what}: ${err.message.split("\n")[0]}`);
  });
}

async function main() {
  step("app sockets");
  const apps = [];
  for (const url of servers) apps.push(await connect(url + "/"));
  result.appIds = apps.map((s) => s.id);

  step("browser");
  const browser = await launchChromium(executablePath);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === "127.0.0.1" || host === "localhost" ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error" || msg.type() === "warning") {
      result.console.push({ type: msg.type(), text: msg.text() });
    }
  });
  page.on("pageerror", (err) => result.pageErrors.push(String(err)));

  step("login");
  await page.goto(uiUrl, { waitUntil: "domcontentloaded", timeout: STEP_TIMEOUT });
  await page.getByLabel("Server URL").fill(servers[0], { timeout: STEP_TIMEOUT });
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByLabel("Server URL").waitFor({ state: "hidden", timeout: STEP_TIMEOUT });

  step("servers");
  await showRoute(page, "#/servers/");
  await waitForText(page, ids, "the Servers page lists every server");
  result.serverRows = await page.$$eval(
    "tbody tr",
    (rows, wanted) =>
      rows
        .map((r) => [...r.querySelectorAll("td")].map((td) => td.innerText.trim()))
        .filter((cells) => wanted.includes(cells[0])),
    ids,
  );

  step("sockets");
  await showRoute(page, "#/sockets/");
  await waitForText(page, result.appIds, "the Sockets page lists every app socket");

  step("room");
  await within(new Promise((resolve) => apps[0].emit("join", "lobby", resolve)), "join ack");
  await showRoute(page, "#/rooms/");
  await waitForText(page, ["lobby"], "the Rooms page shows the new room");

  step("dashboard");
  await showRoute(page, "#/");
  await page.waitForTimeout(1500); // the charts' animation, for the screenshot
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  const target = apps[apps.length - 1];
  await showRoute(page, "#/sockets/");
  await waitForText(page, [target.id], "the Sockets page, again");
  const row = page.locator("tbody tr", { hasText: target.id });
  result.disconnectButtons = await page.locator("tbody tr button").count();
  if (!readOnly) {
    step("disconnect from the UI");
    await row.locator("button").click({ timeout: STEP_TIMEOUT });
    result.disconnectReason = await within(target.gone, "the client is disconnected");
    await page.waitForFunction(
      (id) => !document.body.innerText.includes(id),
      target.id,
      { timeout: STEP_TIMEOUT },
    );
    result.otherStillConnected = apps.slice(0, -1).every((s) => s.connected);
  } else {
    step("read-only: _disconnect sent anyway");
    const admin = await connect(servers[0] + "/admin", { username: "admin", password });
    const refusal = new Promise((resolve) => admin.on("error", resolve));
    admin.emit("_disconnect", "/", true, target.id);
    result.refusal = await within(refusal, "an 'error' answers the refused action");
    // a round trip through the target's server after the refusal: still there
    const rooms = await within(new Promise((resolve) => target.emit("join", "after", resolve)), "target alive");
    result.targetRooms = rooms;
    result.targetConnected = target.connected;
  }
  await browser.close();
  finish(true);
}

main().catch((err) => finish(false, err));

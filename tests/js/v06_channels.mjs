// One channel, three generations: a Socket.IO 0.6 page (new io.Socket(), in
// headless Chromium), a socket.io-client 0.9.16 socket and a
// socket.io-client 4 socket (under Node), each with hubbub's channel
// extension (fetched from the server, /socket.io/channels.js), all in the
// chat room 1 (channel "room-1") of examples/webpy_chat. Prints one JSON
// object of what each saw.
//
//   node v06_channels.mjs --page <url> --url09 <url> --url4 <url> --sysmsg <url>
//        [--tag t] [--timeout ms] [--chromium path]
//
// Before anyone connects, the out-of-band sends of --sysmsg (broadcast,
// send, broadcast_channel) answer NoSocket. Each client joins the chat (the
// server answers "started" once it handled the subscription); then a system
// message is posted out of band to --sysmsg (broadcast_channel to room-1),
// one is sent to the 0.9 socket alone (send, through --page's server) and
// one to everyone (broadcast); then the 4.x and 0.9 sockets and the page
// each say something, which the server sends to the channel
// (send_and_broadcast_channel).
// With the servers in a Redis cluster the URLs may name different processes.

import { createRequire } from "node:module";

import { io as io4 } from "socket.io-client";

import { launchChromium } from "./chromium.mjs";

const require = createRequire(import.meta.url);
const io09 = require("socket.io-client-v09");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const pageUrl = option("--page");
const url09 = option("--url09");
const url4 = option("--url4");
const sysmsgUrl = option("--sysmsg");
const tag = option("--tag", Math.random().toString(36).slice(2, 7));
const hardTimeout = Number(option("--timeout", "60000"));
const executablePath = option("--chromium", "/usr/bin/chromium");
const STEP = 10000;

const result = { ok: false, steps: [], pageErrors: [], console: [], seen: { page: [], v09: [], v4: [] } };
let browser = null;
function finish(ok, error) {
  result.ok = ok;
  if (error) result.error = String(error && error.stack ? error.stack : error);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(ok ? 0 : 1);
}
setTimeout(() => finish(false, `hard timeout (last step: ${result.steps.at(-1)})`), hardTimeout);

async function extension(url, io) {
  // the script as hubbub serves it, installed on this client's io
  const code = await (await fetch(`${url}/socket.io/channels.js`)).text();
  const module = { exports: {} };
  new Function("module", "exports", code)(module, module.exports);
  module.exports(io);
}

function until(check, what) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > STEP) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}: ${JSON.stringify(result.seen)}`));
      }
    }, 30);
  });
}

const saw = (who, pred) => () => result.seen[who].some(pred);

async function system(url, fields) {
  const posted = await fetch(`${url}/sysmsg`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  });
  return (await posted.text()).trim();
}

async function main() {
  // nobody is connected yet: NoSocket
  result.before = {
    broadcast: await system(sysmsgUrl, { message: "nobody" }),
    send: await system(sysmsgUrl, { to: "12345", message: "nobody" }),
    channel: await system(sysmsgUrl, { room: "1", message: "nobody" }),
  };
  await extension(url09, io09);
  await extension(url4, io4);
  result.extended = { v09: typeof io09.SocketNamespace.prototype.subscribe, v4: typeof io4.Socket.prototype.subscribe };

  browser = await launchChromium(executablePath);
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => result.pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") result.console.push(m.text());
  });
  await page.goto(`${pageUrl}/room/1?transport=websocket`, { waitUntil: "load", timeout: STEP });
  await page.waitForFunction(() => /^connected with /.test(document.getElementById("status").textContent), null, { timeout: STEP, polling: 50 });
  await page.fill("#name", `page-${tag}`);
  await page.press("#name", "Enter");
  await page.waitForFunction(() => document.body.className === "started", null, { timeout: STEP, polling: 50 });
  result.steps.push("0.6 page joined");

  const s9 = io09.connect(url09, { "force new connection": true, transports: ["websocket"], reconnect: false });
  s9.on("message", (data) => result.seen.v09.push(data));
  s9.on("connect", () => {
    s9.subscribe("room-1");
    s9.json.send({ room: 1, action: "start", name: `v09-${tag}` });
  });
  const s4 = io4(url4, { transports: ["websocket"], forceNew: true, reconnection: false });
  s4.on("message", (data) => result.seen.v4.push(data));
  s4.on("connect", () => {
    s4.subscribe("room-1");
    s4.send({ room: 1, action: "start", name: `v4-${tag}` });
  });
  await until(saw("v09", (d) => d.action === "started"), "0.9 started");
  await until(saw("v4", (d) => d.action === "started"), "4.x started");
  result.steps.push("0.9 and 4.x joined");

  const pageLog = () => page.$$eval("#log li", (lis) => lis.map((li) => li.textContent));
  const pageHas = async (text) => {
    await page.waitForFunction((t) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === t), text, {
      timeout: STEP,
      polling: 50,
    });
  };

  result.sysmsg = await system(sysmsgUrl, { room: "1", message: `to all ${tag}` });
  await pageHas(`SYSTEM: to all ${tag}`);
  await until(saw("v09", (d) => d.action === "system" && d.message === `to all ${tag}`), "0.9 system");
  await until(saw("v4", (d) => d.action === "system" && d.message === `to all ${tag}`), "4.x system");
  result.steps.push("broadcast_channel reached all three");

  // send(session_id) to the 0.9 socket, through the page's server (in a
  // cluster: another process than the 0.9 socket's), and broadcast()
  result.sendTo09 = await system(pageUrl, { to: s9.socket.sessionid, message: `to 0.9 ${tag}` });
  await until(saw("v09", (d) => d.action === "system" && d.message === `to 0.9 ${tag}`), "0.9 send");
  result.broadcast = await system(sysmsgUrl, { message: `to everyone ${tag}` });
  await pageHas(`SYSTEM: to everyone ${tag}`);
  await until(saw("v09", (d) => d.action === "system" && d.message === `to everyone ${tag}`), "0.9 broadcast");
  await until(saw("v4", (d) => d.action === "system" && d.message === `to everyone ${tag}`), "4.x broadcast");
  result.steps.push("send and broadcast");

  s4.send({ room: 1, action: "message", message: "from 4" });
  await pageHas(`v4-${tag}: from 4`);
  await until(saw("v09", (d) => d.action === "message" && d.message === "from 4"), "0.9 got 4.x's line");
  s9.json.send({ room: 1, action: "message", message: "from 0.9" });
  await pageHas(`v09-${tag}: from 0.9`);
  await until(saw("v4", (d) => d.action === "message" && d.message === "from 0.9"), "4.x got 0.9's line");
  await page.fill("#message", "from 0.6");
  await page.press("#message", "Enter");
  await until(saw("v4", (d) => d.action === "message" && d.message === "from 0.6"), "4.x got the page's line");
  await until(saw("v09", (d) => d.action === "message" && d.message === "from 0.6"), "0.9 got the page's line");
  result.steps.push("messages across generations");
  result.seen.page = await pageLog();
  s4.disconnect();
  s9.disconnect();
  await browser.close();
  browser = null;
}

main().then(() => finish(true), (err) => finish(false, err));

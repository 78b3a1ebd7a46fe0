// socket.io-client 4.x against the TurboGears examples (hubbub.tgext_socketio):
// prints one JSON line, {"ok": true, ...what was seen} or {"ok": false, "error": ...}.
//
//   node turbogears_clients.mjs pingpong <url> [websocket|polling]
//   node turbogears_clients.mjs chat <url> [websocket|polling] [--send TEXT] [--wait-for N]
//
// pingpong: an anonymous client pings (-> error method_access_denied) and asks
// whoami (null); then a client logged in through TG's login form (its auth
// cookie on the Socket.IO requests) asks whoami and clicks what the page's
// four buttons send: ping, fireball, auto, error.
//
// chat: a client subscribes to room 1 (its ack: true; the server emits
// userid), tries a channel that does not exist and one without a name, then
// prints {"subscribed": true}, sends TEXT (--send) and collects `pubblication`
// events until it has N (--wait-for) of them.

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const argv = process.argv.slice(2);
const option = (name, fallback) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
const [scenario, url, transport = "websocket"] = argv;
const transports = [transport];
const sockets = [];

const hard = setTimeout(() => finish({ ok: false, error: "timeout" }), Number(option("--timeout", "15000")));

function finish(result) {
  clearTimeout(hard);
  for (const s of sockets) s.disconnect();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

async function login(user) {
  const body = new URLSearchParams({ login: user, password: "any" });
  const resp = await fetch(`${url}/login_handler`, { method: "POST", body, redirect: "manual" });
  const cookies = resp.headers.getSetCookie().map((c) => c.split(";")[0]);
  if (!cookies.length) throw new Error(`login as ${user}: no cookie (${resp.status})`);
  return cookies.join("; ");
}

function connect(nsp, cookie) {
  const options = { path: "/socketio/", transports, reconnection: false, forceNew: true };
  if (cookie) options.extraHeaders = { cookie };
  const socket = io(`${url}${nsp}`, options);
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (err) => reject(new Error(`${nsp}: ${err.message}`)));
  });
}

const nextEvent = (socket, name) => new Promise((resolve) => socket.once(name, (...args) => resolve(args)));

// emits ping and collects the 'pong' sounds it causes, and its 'error' event
// if one comes before the whoami round trip that follows it
async function ping(socket, type) {
  const sounds = [];
  const onPong = (data) => sounds.push(data.sound);
  socket.on("pong", onPong);
  const error = nextEvent(socket, "error");
  socket.emit("ping", { type });
  // a whoami round trip after the ping: every pong it caused is in by then
  const settled = socket.timeout(5000).emitWithAck("whoami");
  const first = await Promise.race([error.then((e) => ({ error: e })), settled.then(() => ({}))]);
  socket.off("pong", onPong);
  return { sounds, error: first.error || null };
}

async function pingpong() {
  const anonymous = await connect("/pingpong");
  const anon = {
    whoami: await anonymous.timeout(5000).emitWithAck("whoami"),
    ping: await ping(anonymous, "ping"),
    transport: anonymous.io.engine.transport.name,
  };
  const cookie = await login("alice");
  const alice = await connect("/pingpong", cookie);
  const user = { whoami: await alice.timeout(5000).emitWithAck("whoami") };
  for (const type of ["ping", "fireball", "auto", "error"]) user[type] = await ping(alice, type);
  user.transport = alice.io.engine.transport.name;
  return { ok: true, anonymous: anon, alice: user };
}

async function chat() {
  const text = option("--send", null);
  const waitFor = Number(option("--wait-for", "0"));
  const socket = await connect("/chat");
  const got = [];
  socket.on("pubblication", (m) => got.push(m));
  const userid = nextEvent(socket, "userid");
  const subscribed = await socket.timeout(5000).emitWithAck("subscribe", "room", "1");
  const [uid] = await userid;
  const errors = [];
  socket.on("error", (...e) => errors.push(e));
  const unknown = await socket.timeout(5000).emitWithAck("subscribe", "nowhere");
  const unnamed = await socket.timeout(5000).emitWithAck("subscribe");
  process.stdout.write(JSON.stringify({ subscribed: true }) + "\n");
  if (text !== null) socket.emit("user_message", text);
  while (got.length < waitFor) await new Promise((r) => setTimeout(r, 20));
  return { ok: true, subscribed, uid, unknown, unnamed, errors, got, transport: socket.io.engine.transport.name };
}

const scenarios = { pingpong, chat };
scenarios[scenario]().then(finish, (err) => finish({ ok: false, error: String(err && err.stack ? err.stack : err) }));

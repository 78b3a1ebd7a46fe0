// Drives the real socket.io-client 2.x (EIO=3, Socket.IO protocol v4) against
// tests/interop/sio_app.py and prints what it saw as JSON lines on stdout.
//
//   node sio_client2.js <url> <scenario> [--transports default|websocket|polling] [--timeout ms]
//
// The last line is {"event":"result","result":{...}}; exit status 0. On an
// unexpected error or the hard timeout: {"event":"fail",...}, exit status 1.
// Binary values are printed as {"$bin": hex, "type": "Buffer"|...}.
//
// Scenarios:
//   basic            connect to "/", the server's welcome, events and acks both ways
//   namespace_query  "/chat?token=abc&x=1": the query reaches socket.handshake.query;
//                    one connection multiplexing namespaces with different queries
//   rooms            3 clients; broadcast to a room except the sender, then a sentinel to all
//   binary           Buffers both ways, top level and nested, in events and acks
//   refused          refused on "/" and on "/chat": the 'error' event with the message
//   disconnect       client socket.disconnect() and server socket.disconnect()

"use strict";

const { randomBytes } = require("node:crypto");
const io = require("socket.io-client-v2");

const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
}
const valued = new Set(["--transports", "--timeout"]);
const positional = argv.filter((a, i) => !a.startsWith("--") && !valued.has(argv[i - 1]));
const [url, scenario] = positional;
const transportsName = option("--transports", "default");
const hardTimeout = Number(option("--timeout", "15000"));

const started = Date.now();

// --- output -------------------------------------------------------------------------

function plain(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex"), type: "Buffer" };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex"), type: "ArrayBuffer" };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex"), type: value.constructor.name };
  }
  if (value instanceof Error) return { $error: value.message };
  if (Array.isArray(value)) return value.map(plain);
  if (value === undefined) return null;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function emit(obj) {
  process.stdout.write(JSON.stringify({ ...plain(obj), t: Date.now() - started }) + "\n");
}

function fail(reason) {
  emit({ event: "fail", reason: String(reason && reason.stack ? reason.stack : reason) });
  process.exit(1);
}

if (!url || !scenario) fail("usage: node sio_client2.js <url> <scenario> [options]");
setTimeout(() => fail(`hard timeout after ${hardTimeout} ms in ${scenario}`), hardTimeout).unref();
process.on("unhandledRejection", fail);

emit({ event: "library", version: require("socket.io-client-v2/package.json").version, scenario });

// --- helpers ------------------------------------------------------------------------

const TRANSPORTS = {
  default: ["polling", "websocket"],
  websocket: ["websocket"],
  polling: ["polling"],
};
if (!(transportsName in TRANSPORTS)) fail(`unknown transports ${transportsName}`);

function baseOptions(extra = {}) {
  return { transports: TRANSPORTS[transportsName], reconnection: false, ...extra };
}

const created = [];

// a new client with its own connection, for `path` (a namespace, maybe with a query)
function client(path = "/", extra = {}) {
  const socket = io(url + path, baseOptions({ forceNew: true, ...extra }));
  created.push(socket);
  return socket;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// resolves on 'connect'; rejects with the 'error' (a refusal) or 'connect_error'
function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect within ${ms} ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject({ refused: err });
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function next(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function until(predicate, ms = 5000, what = "condition") {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// emit with an ack: every value the ack carries
function call(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event}`)), 5000);
    socket.emit(event, ...args, (...values) => {
      clearTimeout(timer);
      resolve(values);
    });
  });
}

const unique = (prefix) => `${prefix}-${randomBytes(6).toString("hex")}`;

// the server's disconnect reason for `sid`, asked through a fresh client
async function serverReason(sid, ms = 4000) {
  const q = client("/");
  await connected(q);
  const deadline = Date.now() + ms;
  let reason = null;
  while (reason === null && Date.now() < deadline) {
    [reason] = await call(q, "disconnect_reason", sid);
    if (reason === null) await sleep(25);
  }
  q.close();
  return reason;
}

// the outcome of connecting `socket`: its id, or the refusal
async function outcome(socket) {
  try {
    await connected(socket);
    return { connected: true, id: socket.id };
  } catch (err) {
    if (err && "refused" in err) return { connected: false, error: err.refused };
    throw err;
  }
}

// --- scenarios ------------------------------------------------------------------------

const scenarios = {
  async basic() {
    const s = client("/");
    const welcomed = next(s, "welcome");
    await connected(s);
    const [welcome] = await welcomed;
    const asked = [];
    s.on("question", (value, callback) => {
      asked.push(value);
      if (value !== "silent") callback({ double: value * 2 }, "extra");
    });
    return {
      id: s.id,
      engineId: s.io.engine.id,
      protocol: require("socket.io-client-v2").protocol,
      welcome,
      echo: await call(s, "echo", 1, "two", { three: [3] }, null, true),
      echoNone: await call(s, "echo"),
      askCall: await call(s, "ask", "call", 21, 3),
      askTimeoutEmit: await call(s, "ask", "timeout_emit", 5, 3),
      askSilent: await call(s, "ask", "call", "silent", 0.3),
      asked,
      after: await call(s, "echo", "still connected"),
    };
  },

  async namespace_query() {
    const result = {};
    const chat = client("/chat?token=abc&x=1");
    const welcomed = next(chat, "welcome");
    await connected(chat);
    result.chat = {
      id: chat.id,
      engineId: chat.io.engine.id,
      welcome: (await welcomed)[0],
      echo: await call(chat, "echo", "hi", { n: 1 }),
      rooms: await call(chat, "join", unique("chat-room")),
    };
    // one connection, namespaces with their own queries: a refused one first,
    // then an accepted one that must not see the other's query
    const manager = io.Manager(url, baseOptions());
    const refused = manager.socket("/chat", { query: { token: "bad", first: "1" } });
    result.multiplexRefused = await outcome(refused);
    const dyn = manager.socket("/dyn-vtwo", { query: { second: "2" } });
    const dynWelcome = next(dyn, "welcome");
    result.multiplexDyn = await outcome(dyn);
    if (result.multiplexDyn.connected) {
      result.multiplexDyn.welcome = (await dynWelcome)[0];
      result.multiplexDyn.echo = await call(dyn, "echo", "dyn");
    }
    result.multiplexEngineId = manager.engine.id;
    manager.close();
    return result;
  },

  async rooms() {
    const room = unique("room");
    const everyone = unique("all");
    const clients = { a: client(), b: client(), c: client() };
    await Promise.all(Object.values(clients).map((s) => connected(s)));
    const received = { a: [], b: [], c: [] };
    for (const [name, s] of Object.entries(clients)) {
      s.on("room_message", (...args) => received[name].push(args));
    }
    const joined = { a: await call(clients.a, "join", room), b: await call(clients.b, "join", room) };
    for (const s of Object.values(clients)) await call(s, "join", everyone);
    const ack = await call(clients.a, "to_room", room, { text: "hello room", n: 1 });
    await call(clients.a, "to_all", everyone, "sentinel");
    await until(
      () => Object.values(received).every((list) => list.some((m) => m[0] === "sentinel")),
      5000,
      "the sentinel"
    );
    const ids = Object.fromEntries(Object.entries(clients).map(([k, s]) => [k, s.id]));
    return { room, ids, joined, ack, received };
  },

  async binary() {
    const s = client();
    await connected(s);
    const buf = Buffer.from([0, 1, 2, 253, 254, 255]);
    const nested = {
      nested: { buf: Buffer.from("nested"), list: [Buffer.from([1]), 2, "x", Buffer.alloc(0)] },
      text: "t",
    };
    const big = Buffer.alloc(200000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    const result = {};
    result.described = await call(s, "describe", buf, nested, "plain", 42);
    result.echoed = await call(s, "echo", buf, nested, "plain", 42);
    const [echoedBig] = await call(s, "echo", big);
    result.big = {
      isBuffer: Buffer.isBuffer(echoedBig),
      length: echoedBig.length,
      same: Buffer.isBuffer(echoedBig) && Buffer.compare(echoedBig, big) === 0,
    };
    const pushed = next(s, "binary");
    result.pushAck = await call(s, "push_binary");
    result.pushed = await pushed;
    return result;
  },

  async refused() {
    return {
      main: await outcome(client("/", { query: { token: "bad" } })),
      chat: await outcome(client("/chat?token=bad")),
      invalid: await outcome(client("/nope")),
    };
  },

  async disconnect() {
    const result = {};
    const a = client();
    await connected(a);
    const idA = a.id;
    const closedA = next(a, "disconnect");
    a.disconnect();
    result.client = { id: idA, clientReason: (await closedA)[0], serverReason: await serverReason(idA) };

    const b = client();
    await connected(b);
    const idB = b.id;
    const closedB = next(b, "disconnect");
    b.emit("kick_me");
    result.server = { id: idB, clientReason: (await closedB)[0], serverReason: await serverReason(idB) };
    return result;
  },
};

if (!(scenario in scenarios)) fail(`unknown scenario ${scenario}`);

scenarios[scenario]()
  .then((result) => {
    emit({ event: "result", result });
    for (const socket of created) socket.close();
    process.exit(0);
  })
  .catch(fail);

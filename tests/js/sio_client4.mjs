// Drives the real socket.io-client 4.x against tests/interop/sio_app.py and
// prints what it saw as JSON lines on stdout; the pytest side checks them.
//
//   node sio_client4.mjs <url> <scenario> [--nsp /chat] [--transports default|websocket|polling]
//                        [--msgpack] [--cut engine|tcp] [--timeout ms]
//
// The last line is {"event":"result","result":{...}}; exit status 0. On an
// unexpected error or the hard timeout: {"event":"fail",...}, exit status 1.
// Binary values are printed as {"$bin": hex, "type": "Buffer"|...}.
//
// Scenarios (each uses fresh clients, rooms named at random):
//   auth                 auth payload -> welcome; refused auth -> connect_error; unknown namespace
//   namespaces           one Manager multiplexing /chat and two /dyn-* namespaces
//   rooms                3 clients; broadcast to a room except the sender, then a sentinel to all
//   ack_client_to_server emitWithAck and callback acks, one, several and no values
//   ack_server_to_client the server's socket.call / timeout().emit get the client's answer, or time out
//   ack_client_timeout   socket.timeout(500).emitWithAck on a handler that sleeps
//   broadcast_acks       the server's to(room).timeout(t).call/emit over 3 clients
//   binary               Buffers both ways, top level and nested, in events and acks
//   disconnect_server    server socket.disconnect() -> "io server disconnect"
//   disconnect_client    client socket.disconnect() -> the server's reason
//   disconnect_transport engine.close() and a destroyed TCP socket -> the server's reasons
//   ping_timeout         the client stops answering pings -> the server's reason
//   recovery             connection state recovery across a cut transport (--cut engine:
//                        socket.io.engine.close(); --cut tcp: the websocket's TCP socket destroyed)

import { createRequire } from "node:module";
import { randomBytes } from "node:crypto";

const require = createRequire(import.meta.url);
const { io, Manager } = require("socket.io-client");

const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
}
const valued = new Set(["--nsp", "--transports", "--timeout", "--cut"]);
const positional = argv.filter((a, i) => !a.startsWith("--") && !valued.has(argv[i - 1]));
const [url, scenario] = positional;
const nsp = option("--nsp", "/");
const transportsName = option("--transports", "default");
const useMsgpack = argv.includes("--msgpack");
const cut = option("--cut", "engine"); // recovery: engine.close() or a destroyed TCP socket
const hardTimeout = Number(option("--timeout", "15000"));

const started = Date.now();

// --- output -------------------------------------------------------------------------

function plain(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex"), type: "Buffer" };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex"), type: "ArrayBuffer" };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex"), type: value.constructor.name };
  }
  if (value instanceof Error) return { $error: value.message, data: plain(value.data) };
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

if (!url || !scenario) fail("usage: node sio_client4.mjs <url> <scenario> [options]");
setTimeout(() => fail(`hard timeout after ${hardTimeout} ms in ${scenario}`), hardTimeout).unref();
process.on("unhandledRejection", fail);

emit({ event: "library", version: require("socket.io-client/package.json").version, scenario, nsp });

// --- helpers ------------------------------------------------------------------------

const TRANSPORTS = {
  default: ["polling", "websocket"],
  websocket: ["websocket"],
  polling: ["polling"],
};
if (!(transportsName in TRANSPORTS)) fail(`unknown transports ${transportsName}`);

function baseOptions(extra = {}) {
  const opts = { transports: TRANSPORTS[transportsName], reconnection: false, ...extra };
  if (useMsgpack) opts.parser = require("socket.io-msgpack-parser");
  return opts;
}

const created = [];

// a new client with its own connection (forceNew), for namespace `name`
function client(name = nsp, extra = {}) {
  const socket = io(url + name, baseOptions({ forceNew: true, ...extra }));
  created.push(socket);
  return socket;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// resolves with the 'connect' of `socket`, rejects with its connect_error
function connected(socket, ms = 5000) {
  if (socket.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect within ${ms} ms`)), ms);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

// the arguments of the next `event` on `socket`
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

// emit with a callback ack: every value the ack carries
function emitCallback(socket, event, ...args) {
  return new Promise((resolve) => socket.emit(event, ...args, (...values) => resolve(values)));
}

const unique = (prefix) => `${prefix}-${randomBytes(6).toString("hex")}`;

// the server's disconnect reason for `sid`, asked through a fresh client
async function serverReason(sid, ms = 4000) {
  const q = client(nsp);
  await connected(q);
  const deadline = Date.now() + ms;
  let reason = null;
  while (reason === null && Date.now() < deadline) {
    reason = await q.emitWithAck("disconnect_reason", sid);
    if (reason === null) await sleep(25);
  }
  q.disconnect();
  return reason;
}

// --- scenarios ------------------------------------------------------------------------

const scenarios = {
  async auth() {
    const auth = { token: "good", user: "alice", nested: { n: 1, list: [1, "two", null] } };
    const s = client(nsp, { auth });
    const welcomed = next(s, "welcome");
    await connected(s);
    const [welcome] = await welcomed;
    const result = { id: s.id, welcome };
    s.disconnect();

    const bad = client(nsp, { auth: { token: "bad" } });
    try {
      await connected(bad);
      result.refused = null;
    } catch (err) {
      result.refused = { message: err.message, data: err.data, connected: bad.connected };
    }
    bad.close();

    const nope = client("/nope");
    try {
      await connected(nope);
      result.invalid = null;
    } catch (err) {
      result.invalid = { message: err.message, data: err.data ?? null };
    }
    nope.close();
    return result;
  },

  async namespaces() {
    const manager = new Manager(url, baseOptions());
    const names = ["/chat", "/dyn-alpha", "/dyn-beta42"];
    const sockets = names.map((name) => manager.socket(name, { auth: { token: "ok", name } }));
    const welcomes = sockets.map((s) => next(s, "welcome"));
    await Promise.all(sockets.map((s) => connected(s)));
    const result = { engines: new Set(sockets.map((s) => s.io.engine.id)).size, namespaces: {} };
    for (const [i, s] of sockets.entries()) {
      const [welcome] = await welcomes[i];
      result.namespaces[names[i]] = {
        id: s.id,
        welcome,
        echo: await emitCallback(s, "echo", names[i], { i }),
      };
    }
    const upper = manager.socket("/dyn-NOPE");
    try {
      await connected(upper);
      result.unmatched = null;
    } catch (err) {
      result.unmatched = { message: err.message };
    }
    manager._close();
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
    const joined = {
      a: await clients.a.emitWithAck("join", room),
      b: await clients.b.emitWithAck("join", room),
    };
    for (const s of Object.values(clients)) await s.emitWithAck("join", everyone);
    const ack = await clients.a.emitWithAck("to_room", room, { text: "hello room", n: 1 });
    // the sentinel goes to all three after the room message: on each
    // connection anything sent before it has arrived once it has
    await clients.a.emitWithAck("to_all", everyone, "sentinel");
    await until(
      () => Object.values(received).every((list) => list.some((m) => m[0] === "sentinel")),
      5000,
      "the sentinel"
    );
    const ids = Object.fromEntries(Object.entries(clients).map(([k, s]) => [k, s.id]));
    return { room, ids, joined, ack, received };
  },

  async ack_client_to_server() {
    const s = client();
    await connected(s);
    return {
      single: await s.emitWithAck("echo", "one"),
      several: await emitCallback(s, "echo", 1, "two", { three: [3] }, null, true),
      none: await emitCallback(s, "echo"),
      withTimeout: await s.timeout(3000).emitWithAck("echo", "in time"),
      timeoutCallback: await new Promise((resolve) =>
        s.timeout(3000).emit("echo", "x", 2, (err, ...values) => resolve({ err: err ?? null, values }))
      ),
    };
  },

  async ack_server_to_client() {
    const s = client();
    await connected(s);
    const asked = [];
    s.on("question", (value, callback) => {
      asked.push(value);
      if (value === "silent") return; // never answers
      callback({ double: value * 2 }, "extra");
    });
    const result = { asked };
    result.call = await s.emitWithAck("ask", "call", 21, 3);
    result.timeoutEmit = await s.emitWithAck("ask", "timeout_emit", 5, 3);
    let t0 = Date.now();
    result.callSilent = await s.emitWithAck("ask", "call", "silent", 0.3);
    result.callSilentMs = Date.now() - t0;
    t0 = Date.now();
    result.timeoutEmitSilent = await s.emitWithAck("ask", "timeout_emit", "silent", 0.3);
    result.timeoutEmitSilentMs = Date.now() - t0;
    result.after = await s.emitWithAck("echo", "still connected");
    return result;
  },

  async ack_client_timeout() {
    const s = client();
    await connected(s);
    const result = {};
    let t0 = Date.now();
    try {
      result.value = await s.timeout(500).emitWithAck("slow", 1.0);
      result.error = null;
    } catch (err) {
      result.error = err.message;
    }
    result.elapsedMs = Date.now() - t0;
    t0 = Date.now();
    result.callback = await new Promise((resolve) =>
      s.timeout(300).emit("slow", 1.0, (err, value) => resolve({ err: err ? err.message : null, value }))
    );
    result.callbackMs = Date.now() - t0;
    // the late answers come while nobody waits: the socket carries on
    await sleep(900);
    result.inTime = await s.timeout(3000).emitWithAck("slow", 0.05);
    result.connected = s.connected;
    return result;
  },

  async broadcast_acks() {
    const room = unique("poll");
    const silent = { a: false, b: false, c: false };
    const clients = { a: client(), b: client(), c: client() };
    await Promise.all(Object.values(clients).map((s) => connected(s)));
    for (const [name, s] of Object.entries(clients)) {
      s.on("poll", (pollRoom, callback) => {
        if (!silent[name]) callback({ name, room: pollRoom, id: s.id });
      });
      await s.emitWithAck("join", room);
    }
    const result = {};
    result.call = await clients.a.emitWithAck("poll_room", room, "call", 3);
    result.emit = await clients.b.emitWithAck("poll_room", room, "emit", 3);
    silent.c = true;
    let t0 = Date.now();
    result.partialEmit = await clients.a.emitWithAck("poll_room", room, "emit", 0.5);
    result.partialEmitMs = Date.now() - t0;
    t0 = Date.now();
    result.partialCall = await clients.a.emitWithAck("poll_room", room, "call", 0.5);
    result.partialCallMs = Date.now() - t0;
    result.ids = Object.fromEntries(Object.entries(clients).map(([k, s]) => [k, s.id]));
    return result;
  },

  async binary() {
    const s = client();
    await connected(s);
    const buf = Buffer.from([0, 1, 2, 253, 254, 255]);
    const nested = {
      nested: { buf: Buffer.from("nested"), list: [Buffer.from([1]), 2, "x", Buffer.alloc(0)] },
      text: "t",
    };
    const typed = new Uint8Array([9, 8, 7]);
    const big = Buffer.alloc(200000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
    const result = {};
    result.described = await emitCallback(s, "describe", buf, nested, "plain", typed, 42);
    result.echoed = await emitCallback(s, "echo", buf, nested, "plain", typed, 42);
    const echoedBig = await s.emitWithAck("echo", big);
    result.big = {
      isBuffer: Buffer.isBuffer(echoedBig),
      length: echoedBig.length,
      same: Buffer.isBuffer(echoedBig) && Buffer.compare(echoedBig, big) === 0,
    };
    const pushed = next(s, "binary");
    result.pushAck = await s.emitWithAck("push_binary");
    result.pushed = await pushed;
    return result;
  },

  async disconnect_server() {
    const s = client(nsp, { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    await connected(s);
    const id = s.id;
    const disconnected = next(s, "disconnect");
    let reconnects = 0;
    s.io.on("reconnect_attempt", () => reconnects++);
    s.emit("kick_me");
    const [reason] = await disconnected;
    await sleep(300); // no reconnection follows a server-side disconnect
    return { id, reason, connected: s.connected, active: s.active, reconnects, serverReason: await serverReason(id) };
  },

  async disconnect_client() {
    const s = client();
    await connected(s);
    const id = s.id;
    const disconnected = next(s, "disconnect");
    s.disconnect();
    const [reason] = await disconnected;
    return { id, clientReason: reason, serverReason: await serverReason(id) };
  },

  async disconnect_transport() {
    const result = {};
    // the client closes its Engine.IO connection under the Socket.IO socket
    const s1 = client();
    await connected(s1);
    const id1 = s1.id;
    const closed1 = next(s1, "disconnect");
    s1.io.engine.close();
    result.engineClose = { id: id1, clientReason: (await closed1)[0], serverReason: await serverReason(id1) };
    // the TCP connection dies under the websocket, no close frame
    const s2 = client(nsp, { transports: ["websocket"] });
    await connected(s2);
    const id2 = s2.id;
    const closed2 = next(s2, "disconnect");
    s2.io.engine.transport.ws._socket.destroy();
    result.tcpDestroy = { id: id2, clientReason: (await closed2)[0], serverReason: await serverReason(id2) };
    return result;
  },

  async ping_timeout() {
    const s = client();
    await connected(s);
    const id = s.id;
    const engine = s.io.engine;
    let dropped = 0;
    const sendPacket = engine._sendPacket.bind(engine);
    engine._sendPacket = (type, ...rest) => {
      if (type === "pong") {
        dropped++;
        return;
      }
      return sendPacket(type, ...rest);
    };
    const t0 = Date.now();
    const [reason] = await next(s, "disconnect", 8000);
    return { id, clientReason: reason, droppedPongs: dropped, elapsedMs: Date.now() - t0, serverReason: await serverReason(id) };
  },

  async recovery() {
    const room = unique("ticks");
    const count = 40;
    // a fixed 300 ms before reconnecting: several ticks are sent while away
    const s = client(nsp, {
      reconnection: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    });
    const ticks = [];
    const offsets = [];
    const connects = [];
    const disconnects = [];
    let done = null;
    s.on("tick", (i, offset) => {
      ticks.push(i);
      offsets.push(offset);
    });
    s.on("tick_done", (n) => (done = n));
    const welcomes = [];
    s.on("welcome", (w) => welcomes.push(w));
    s.on("connect", () => connects.push({ id: s.id, recovered: s.recovered, at: Date.now(), ticks: ticks.length }));
    s.on("disconnect", (reason) => disconnects.push(reason));
    await connected(s);
    await s.emitWithAck("start_ticker", room, count, 0.05);
    await until(() => ticks.length >= 8, 5000, "8 ticks");
    const cutAfter = ticks.length;
    const transport = s.io.engine.transport.name;
    const cutAt = Date.now();
    // cut the transport; the Manager reconnects
    if (cut === "tcp") s.io.engine.transport.ws._socket.destroy();
    else s.io.engine.close();
    await until(() => connects.length >= 2, 5000, "the reconnection");
    try {
      await until(() => done !== null, 5000, "tick_done");
    } catch (err) {
      emit({ event: "partial", ticks, connects, disconnects, error: err.message });
      throw err;
    }
    return {
      cut,
      ticks,
      cutAfter,
      awayMs: connects.length > 1 ? connects[1].at - cutAt : null,
      transport,
      connects,
      disconnects,
      welcomes,
      done,
      count,
      offsetsAreStrings: offsets.every((o) => typeof o === "string"),
      distinctOffsets: new Set(offsets).size,
    };
  },
};

if (!(scenario in scenarios)) fail(`unknown scenario ${scenario}`);

try {
  const result = await scenarios[scenario]();
  emit({ event: "result", result });
  for (const socket of created) socket.close();
  process.exit(0);
} catch (err) {
  fail(err);
}

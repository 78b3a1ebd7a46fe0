// Drives the real socket.io-client 0.9.16 (Socket.IO protocol 1, the 0.9
// generation) under Node against tests/interop/legacy_app.py and prints what
// it saw as JSON lines on stdout; the pytest side checks them.
//
//   node sio_client09.js <url> <scenario> [--nsp /chat] [--transports websocket|xhr-polling]
//                        [--wait ms] [--timeout ms]
//
// The last line is {"event":"result","result":{...}}; exit status 0. On an
// unexpected error or the hard timeout: {"event":"fail",...}, exit status 1.
// Every client is made with 'force new connection' (its own session), the
// one transport asked for and no reconnection.
//
// Scenarios (each uses fresh clients, rooms named at random):
//   basic        connect to --nsp ("/" is the main namespace, "" on the wire): the
//                server's welcome, events both ways, acks with data both ways,
//                automatic acks (send / json.send with a callback), plain and json
//                messages, non-BMP text, a burst of acks
//   namespaces   one connection: the main namespace, /chat and a refused /secret
//   heartbeats   connect (main and /chat), then --wait ms of silence: the heartbeats
//                seen, and the connection still the same one afterwards
//   disconnect   client and server disconnects, of the main namespace and of /chat
//   rooms        3 clients in --nsp; a room broadcast except the sender, then to all
//   cross_generation  one 0.9 client and one socket.io-client 4.x client join one
//                room of --nsp; each broadcasts to it; both receive
//
// The server side (legacy_app.py, or the same contract in any 0.9 server):
//   on connection emits 'welcome' {sid, nsp, query}; 'echo'(...) acks its args;
//   'ping_me'(...) emits 'pong_you'(...); a message "x" is answered by the message
//   "echo:x", a json message v by the json message {"echo": v}; 'ask'(v) emits
//   'question'(v) with a callback that emits 'answer'([...values]); 'ask_message'(x) the
//   same with the message x;
//   'join'(room) acks true; 'to_room'(room, payload) emits
//   'room_message'(payload, sid) to the room but the sender, 'to_all' to all of it;
//   'kick_me'() disconnects the socket; 'disconnect_reason'(nsp, sid) acks the
//   server's disconnect reason for that socket, or null. '/secret' refuses everyone.

"use strict";

const { randomBytes } = require("node:crypto");
const io = require("socket.io-client-v09");

const argv = process.argv.slice(2);
function option(name, fallback) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
}
const valued = new Set(["--nsp", "--transports", "--wait", "--timeout"]);
const positional = argv.filter((a, i) => !a.startsWith("--") && !valued.has(argv[i - 1]));
const [url, scenario] = positional;
const nsp = option("--nsp", "/");
const transport = option("--transports", "websocket");
const waitMs = Number(option("--wait", "3000"));
const hardTimeout = Number(option("--timeout", "15000"));

const started = Date.now();

// --- output -------------------------------------------------------------------------

function plain(value) {
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

if (!url || !scenario) fail("usage: node sio_client09.js <url> <scenario> [options]");
setTimeout(() => fail(`hard timeout after ${hardTimeout} ms in ${scenario}`), hardTimeout).unref();
process.on("unhandledRejection", fail);
process.on("uncaughtException", fail);

emit({
  event: "library",
  version: require("socket.io-client-v09/package.json").version,
  protocol: io.protocol,
  scenario,
  nsp,
  transport,
});

if (!["websocket", "xhr-polling"].includes(transport)) {
  fail(`unknown transport ${transport}: Node's 0.9 client has websocket and xhr-polling`);
}

// the one transport every client of this process may use (as a page forces
// it with io.transports = [...]; the 'transports' option alone is merged into
// the default list, and the server's order may win)
io.transports = [transport];

// heartbeats the clients answered, per session id
const heartbeats = {};
// noops (a long poll closed after the polling duration), per session id
const noops = {};
const onPacket = io.Transport.prototype.onPacket;
io.Transport.prototype.onPacket = function (packet) {
  if (packet.type === "noop") noops[this.sessid] = (noops[this.sessid] || 0) + 1;
  return onPacket.call(this, packet);
};
const onHeartbeat = io.Transport.prototype.onHeartbeat;
io.Transport.prototype.onHeartbeat = function (...args) {
  heartbeats[this.sessid] = (heartbeats[this.sessid] || 0) + 1;
  return onHeartbeat.apply(this, args);
};

// --- helpers ------------------------------------------------------------------------

const created = [];

// the wire name of a namespace: "" for the main one
const wire = (name) => (name === "/" ? "" : name);

// a new client with its own session; the SocketNamespace of `name`
function client(name = "/", extra = {}) {
  const ns = io.connect(url + wire(name), {
    transports: [transport],
    "force new connection": true,
    reconnect: false,
    "try multiple transports": false,
    "connect timeout": 5000,
    ...extra,
  });
  created.push(ns.socket);
  return ns;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// resolves on the namespace's 'connect'; rejects with connect_failed / error
function connected(ns, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect to '${ns.name}' within ${ms} ms`)), ms);
    const done = (fn, value) => {
      clearTimeout(timer);
      fn(value);
    };
    ns.once("connect", () => done(resolve));
    ns.once("connect_failed", (reason) => done(reject, { refused: reason === undefined ? null : reason }));
    ns.once("error", (reason) => done(reject, { error: reason === undefined ? null : reason }));
  });
}

// the arguments of the next `event` on `ns`
function next(ns, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} on '${ns.name}' within ${ms} ms`)), ms);
    ns.once(event, (...args) => {
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

// emit with a callback: every value the ack carries (a data ack, "<id>+")
function call(ns, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} on '${ns.name}'`)), 5000);
    ns.emit(event, ...args, (...values) => {
      clearTimeout(timer);
      resolve(values);
    });
  });
}

// send / json.send with a callback (a plain id, acknowledged automatically)
function sendAck(ns, data, json) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for a ${json ? "json" : "plain"} message`)), 5000);
    const fn = (...values) => {
      clearTimeout(timer);
      resolve(values);
    };
    if (json) ns.json.send(data, fn);
    else ns.send(data, fn);
  });
}

const unique = (prefix) => `${prefix}-${randomBytes(6).toString("hex")}`;

// the messages ('message' events) `ns` receives from now on
// (a message the server sent with a callback and a "+" id comes with an ack
// function, which is answered; with a plain id the client acks it by itself)
function collectMessages(ns) {
  const seen = [];
  ns.on("message", (data, ack) => {
    if (typeof ack === "function") {
      seen.push({ type: typeof data, data, ack: "data" });
      ack("got it");
    } else {
      seen.push({ type: typeof data, data });
    }
  });
  return seen;
}

// the server's disconnect reason for socket `sid` in namespace `name`, asked through a fresh client
async function serverReason(name, sid, ms = 4000) {
  const q = client("/");
  await connected(q);
  const deadline = Date.now() + ms;
  let reason = null;
  while (reason === null && Date.now() < deadline) {
    [reason] = await call(q, "disconnect_reason", name, sid);
    if (reason === null) await sleep(25);
  }
  q.socket.disconnect();
  return reason;
}

// the outcome of connecting `ns`
async function outcome(ns) {
  try {
    await connected(ns);
    return { connected: true };
  } catch (err) {
    if (err && ("refused" in err || "error" in err)) return { connected: false, ...err };
    throw err;
  }
}

// --- scenarios ------------------------------------------------------------------------

const scenarios = {
  async basic() {
    const s = client(nsp);
    const welcomed = next(s, "welcome");
    await connected(s);
    const [welcome] = await welcomed;
    const result = {
      sessionid: s.socket.sessionid,
      transport: s.socket.transport.name,
      heartbeatTimeout: s.socket.heartbeatTimeout,
      closeTimeout: s.socket.closeTimeout,
      welcome,
    };

    // events both ways
    const ponged = next(s, "pong_you");
    s.emit("ping_me", "hello", { n: 1, list: [1, "two", null] });
    result.pong = await ponged;

    // acks with data, client to server
    result.echo = await call(s, "echo", 1, "two", { three: [3] }, null, true);
    result.echoNone = await call(s, "echo");
    const text = "snow \u2603, smile \u{1F600}, clef \u{1D11E}, quote \", slash / \\ <\/script>";
    result.unicode = await call(s, "echo", text, { [text]: text });
    result.unicodeSent = text;
    // U+2028 / U+2029 raw in an ack's JSON cut the ack short: the client reads
    // ack arguments with /(.*)/, which stops at line terminators
    const separators = "line\u2028paragraph\u2029end";
    const separatorsPonged = next(s, "pong_you");
    s.emit("ping_me", separators);
    result.separatorsEvent = await separatorsPonged;
    result.separatorsAck = await call(s, "echo", separators);

    // automatic acks (plain ids), and the messages the server answers with
    const messages = collectMessages(s);
    result.sendAck = await sendAck(s, "hi there", false);
    result.jsonAck = await sendAck(s, { a: [1, 2, { b: "c" }], u: text }, true);
    await until(() => messages.length >= 2, 5000, "the echoed messages");
    s.send("no callback");
    s.json.send(["no", "callback"]);
    await until(() => messages.length >= 4, 5000, "the echoed messages without callbacks");
    result.messages = messages;

    // acks with data, server to client: the server's callback gets our values
    const asked = [];
    s.on("question", (value, callback) => {
      asked.push({ value, callback: typeof callback });
      if (typeof callback !== "function") return;
      if (typeof value === "number") callback({ double: value * 2 }, "extra");
      else callback(value); // text comes back as it is
    });
    const answered = next(s, "answer");
    s.emit("ask", 21);
    result.answer = (await answered)[0];
    const separatorsAnswered = next(s, "answer");
    s.emit("ask", separators);
    result.separatorsAnswer = (await separatorsAnswered)[0];
    result.asked = asked;

    // a message with a callback, server to client: acknowledged automatically
    // (a plain id) or by the 'message' handler (a "+" id): the callback runs
    const messageAnswered = next(s, "answer");
    s.emit("ask_message", "a message with a callback");
    result.messageAnswer = (await messageAnswered)[0];
    result.messages = messages;

    // a burst: many packets in flight at once (batched in one payload on polling)
    const burst = await Promise.all(Array.from({ length: 25 }, (_, i) => call(s, "echo", i, "\u{1F600}".repeat(i))));
    result.burstOk = burst.every((values, i) => values[0] === i && values[1] === "\u{1F600}".repeat(i));
    result.burstCount = burst.length;

    result.after = await call(s, "echo", "still connected");
    result.connected = s.socket.connected;
    return result;
  },

  async namespaces() {
    const main = client("/");
    const mainWelcome = next(main, "welcome");
    await connected(main);
    const chat = main.socket.of("/chat");
    const chatWelcome = next(chat, "welcome");
    await connected(chat);
    const result = {
      sessionid: main.socket.sessionid,
      main: { welcome: (await mainWelcome)[0], echo: await call(main, "echo", "main") },
      chat: { welcome: (await chatWelcome)[0], echo: await call(chat, "echo", "chat") },
    };
    // the same event on both namespaces reaches only its own
    const mainPongs = [];
    const chatPongs = [];
    main.on("pong_you", (...a) => mainPongs.push(a));
    chat.on("pong_you", (...a) => chatPongs.push(a));
    chat.emit("ping_me", "to chat");
    main.emit("ping_me", "to main");
    await until(() => mainPongs.length && chatPongs.length, 5000, "the pongs");
    await sleep(100);
    result.mainPongs = mainPongs;
    result.chatPongs = chatPongs;
    // messages per namespace
    const chatMessages = collectMessages(chat);
    result.chatSendAck = await sendAck(chat, "on chat", false);
    await until(() => chatMessages.length >= 1, 5000, "the chat message");
    result.chatMessages = chatMessages;
    // a refused namespace: connect_failed there, the others carry on
    result.secret = await outcome(main.socket.of("/secret"));
    result.afterMain = await call(main, "echo", "after");
    result.afterChat = await call(chat, "echo", "after");
    return result;
  },

  async heartbeats() {
    const s = client("/");
    await connected(s);
    const chat = s.socket.of("/chat");
    await connected(chat);
    const sid = s.socket.sessionid;
    const events = [];
    for (const name of ["disconnect", "reconnect", "reconnecting", "error", "connect_failed"]) {
      s.on(name, (...a) => events.push({ ns: "/", name, args: a }));
      chat.on(name, (...a) => events.push({ ns: "/chat", name, args: a }));
    }
    const before = heartbeats[sid] || 0;
    const noopsBefore = noops[sid] || 0;
    await sleep(waitMs); // no application traffic at all
    return {
      sessionid: sid,
      heartbeatTimeout: s.socket.heartbeatTimeout,
      waited: waitMs,
      heartbeatsBefore: before,
      heartbeats: heartbeats[sid] || 0,
      noopsBefore,
      noops: noops[sid] || 0,
      events,
      connected: s.socket.connected,
      sameSession: s.socket.sessionid === sid,
      echo: await call(s, "echo", "after the silence"),
      chatEcho: await call(chat, "echo", "chat after the silence"),
    };
  },

  async disconnect() {
    const result = {};

    // the client disconnects its main namespace (the whole connection)
    const a = client("/");
    await connected(a);
    const sidA = a.socket.sessionid;
    const closedA = next(a, "disconnect");
    a.disconnect();
    result.clientMain = {
      sid: sidA,
      clientReason: (await closedA)[0],
      serverReason: await serverReason("/", sidA),
      connected: a.socket.connected,
    };

    // the client disconnects /chat only: the main namespace carries on
    const b = client("/");
    await connected(b);
    const chatB = b.socket.of("/chat");
    await connected(chatB);
    const sidB = b.socket.sessionid;
    const closedChatB = next(chatB, "disconnect");
    chatB.disconnect();
    await closedChatB;
    result.clientChat = {
      sid: sidB,
      serverReason: await serverReason("/chat", sidB),
      mainEcho: await call(b, "echo", "main still here"),
      connected: b.socket.connected,
    };
    // and reconnects to it on the same connection
    const chatB2 = b.socket.of("/chat");
    // of() returns the cached namespace; ask for a fresh connect packet
    chatB2.packet({ type: "connect" });
    await connected(chatB2);
    result.clientChat.rejoinedEcho = await call(chatB2, "echo", "back on chat");

    // the server disconnects the main namespace
    const c = client("/");
    await connected(c);
    const sidC = c.socket.sessionid;
    const closedC = next(c, "disconnect");
    c.emit("kick_me");
    result.serverMain = {
      sid: sidC,
      clientReason: (await closedC)[0],
      serverReason: await serverReason("/", sidC),
      connected: c.socket.connected,
    };

    // the server disconnects /chat only
    const d = client("/");
    await connected(d);
    const chatD = d.socket.of("/chat");
    await connected(chatD);
    const sidD = d.socket.sessionid;
    const mainEvents = [];
    d.on("disconnect", (...r) => mainEvents.push(r));
    const closedChatD = next(chatD, "disconnect");
    chatD.emit("kick_me");
    result.serverChat = {
      sid: sidD,
      clientReason: (await closedChatD)[0],
      serverReason: await serverReason("/chat", sidD),
      mainEcho: await call(d, "echo", "main still here"),
      mainEvents,
      connected: d.socket.connected,
    };
    return result;
  },

  async rooms() {
    const room = unique("room");
    const everyone = unique("all");
    const clients = { a: client(nsp), b: client(nsp), c: client(nsp) };
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
      "the sentinel",
    );
    const ids = Object.fromEntries(Object.entries(clients).map(([k, s]) => [k, s.socket.sessionid]));
    return { room, ids, joined, ack, received };
  },

  async cross_generation() {
    const { io: io4 } = require("socket.io-client");
    const room = unique("cross");
    const old = client(nsp);
    const modern = io4(url + (nsp === "/" ? "" : nsp), {
      forceNew: true,
      reconnection: false,
      transports: [transport === "websocket" ? "websocket" : "polling"],
    });
    const modernConnected = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the 4.x client did not connect")), 5000);
      modern.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
      modern.once("connect_error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    await Promise.all([connected(old), modernConnected]);
    const call4 = (event, ...args) => modern.timeout(5000).emitWithAck(event, ...args);
    const received = { old: [], modern: [] };
    old.on("room_message", (...args) => received.old.push(args));
    modern.on("room_message", (...args) => received.modern.push(args));
    const ids = { old: old.socket.sessionid, modern: modern.id };
    const joined = { old: await call(old, "join", room), modern: await call4("join", room) };
    // to the whole room, from either generation
    await call(old, "to_all", room, { from: "0.9", text: "\u{1F600}" });
    await call4("to_all", room, { from: "4.x", list: [1, null] });
    // to the room but the sender
    await call(old, "to_room", room, "only 4.x gets this");
    await call4("to_room", room, "only 0.9 gets this");
    await until(() => received.old.length >= 3 && received.modern.length >= 3, 5000, "the broadcasts");
    await sleep(150); // nothing more arrives
    modern.close();
    return {
      room,
      ids,
      joined,
      received,
      versions: { old: require("socket.io-client-v09/package.json").version, modern: require("socket.io-client/package.json").version },
    };
  },
};

if (!(scenario in scenarios)) fail(`unknown scenario ${scenario}`);

scenarios[scenario]()
  .then((result) => {
    emit({ event: "result", result });
    for (const socket of created) {
      if (socket.connected) socket.disconnect();
    }
    // let the disconnect packets leave before exiting
    setTimeout(() => process.exit(0), 50);
  })
  .catch(fail);

// Drives a real engine.io-client (6.x: EIO=4, or 3.x: EIO=3) against an
// Engine.IO echo server and prints what happens as JSON lines on stdout.
//
//   node eio_client.mjs <6|3> <url> <scenario> [--force-base64] [--timeout ms]
//
// Scenarios:
//   upgrade    default transports: opens by polling, must upgrade to websocket;
//              sends a batch on 'open' (over polling, racing the upgrade) and
//              another after 'upgrade' (over the websocket)
//   late-pong  like upgrade, but the probe's "pong" reaches the client 150 ms
//              late (as when the websocket is slower than polling), so the
//              client keeps polling after the server answered the probe and
//              only switches once a GET sent after that returns
//   websocket  transports: ["websocket"]; sends a batch on 'open'
//   polling    transports: ["polling"]; sends a batch on 'open'
//   reconnect  default transports; sends a batch, waits for the upgrade,
//              prints {"event":"phase","phase":1}, then waits for the server
//              to go away. After 'close' it creates a new Socket (retrying
//              every 100 ms until one opens: engine.io-client has no
//              reconnection of its own), upgrades and sends a batch again.
//   reconnect-websocket, reconnect-polling
//              the same with transports: ["websocket"] / ["polling"]
//
// Every echo received is printed as {"event":"message", "kind": "text" |
// "binary", ...}. Exits 0 once every batch came back (whatever the content:
// the pytest side checks it), 1 on an error or when the hard timeout fires.

import { createRequire } from "node:module";
import { createHash } from "node:crypto";

const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1] === "--timeout"));
const [version, url, scenario] = positional;
const forceBase64 = args.includes("--force-base64");
const timeoutIndex = args.indexOf("--timeout");
const hardTimeout = timeoutIndex >= 0 ? Number(args[timeoutIndex + 1]) : 9000;

const started = Date.now();

function emit(obj) {
  // t: milliseconds since the start, for reading failures
  process.stdout.write(JSON.stringify({ ...obj, t: Date.now() - started }) + "\n");
}

function fail(reason) {
  emit({ event: "fail", reason: String(reason) });
  process.exit(1);
}

if (!["3", "6"].includes(version) || !url || !scenario) {
  fail("usage: node eio_client.mjs <6|3> <url> <scenario> [--force-base64] [--timeout ms]");
}

const timer = setTimeout(() => fail(`hard timeout after ${hardTimeout} ms`), hardTimeout);

// --- the client library -------------------------------------------------------

let makeSocket;
let websocketTransport;
if (version === "6") {
  const { Socket, protocol, transports } = require("engine.io-client");
  emit({ event: "library", version: require("engine.io-client/package.json").version, protocol });
  makeSocket = (opts) => new Socket(url, opts);
  websocketTransport = transports.websocket;
} else {
  const eio = require("engine.io-client-v3");
  emit({ event: "library", version: require("engine.io-client-v3/package.json").version, protocol: eio.protocol });
  makeSocket = (opts) => new eio.Socket(url, opts);
  websocketTransport = eio.transports.websocket;
}

if (scenario === "late-pong") {
  const onPacket = websocketTransport.prototype.onPacket;
  websocketTransport.prototype.onPacket = function (packet) {
    if (packet.type === "pong" && packet.data === "probe") {
      emit({ event: "pong-probe-delayed" });
      setTimeout(() => onPacket.call(this, packet), 150);
      return;
    }
    onPacket.call(this, packet);
  };
}

const transportsFor = {
  upgrade: ["polling", "websocket"],
  "late-pong": ["polling", "websocket"],
  reconnect: ["polling", "websocket"],
  "reconnect-websocket": ["websocket"],
  "reconnect-polling": ["polling"],
  websocket: ["websocket"],
  polling: ["polling"],
};
if (!(scenario in transportsFor)) fail(`unknown scenario ${scenario}`);

const socketOptions = {
  path: "/engine.io/",
  transports: transportsFor[scenario],
  forceBase64,
  upgrade: true,
};

// --- payloads -------------------------------------------------------------------

// every byte value; 70000 bytes is past the 16-bit websocket length
const allBytes = Buffer.alloc(256);
for (let i = 0; i < 256; i++) allBytes[i] = i;
const big = Buffer.alloc(70000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;

function batch(tag) {
  return [
    `${tag} hello`,
    `${tag} unicode é ✓ 世界 🚀`,
    Buffer.concat([Buffer.from(`${tag}:`), allBytes]),
    new Uint8Array([0, 1, 2, 253, 254, 255]),
    "",
    Buffer.alloc(0),
    big,
    `${tag} after binary`,
  ];
}

function describe(data) {
  // engine.io-parser hands an empty message ("4") to 'message' as undefined
  if (data === undefined) return { kind: "empty" };
  if (typeof data === "string") {
    return { kind: "text", data };
  }
  let bytes;
  let type;
  if (Buffer.isBuffer(data)) {
    bytes = data;
    type = "Buffer";
  } else if (data instanceof ArrayBuffer) {
    bytes = Buffer.from(data);
    type = "ArrayBuffer";
  } else if (ArrayBuffer.isView(data)) {
    bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    type = data.constructor.name;
  } else {
    return { kind: "other", type: typeof data, repr: String(data) };
  }
  const out = { kind: "binary", type, length: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  if (bytes.length <= 512) out.hex = bytes.toString("hex");
  return out;
}

// --- one connection ----------------------------------------------------------------

// Opens a socket and runs `onOpen(socket)`; resolves with the socket on
// 'open', rejects if it closes or errors first.
function connect(label, onOpen) {
  return new Promise((resolve, reject) => {
    const socket = makeSocket(socketOptions);
    let opened = false;
    socket.on("open", () => {
      opened = true;
      emit({ event: "open", label, transport: socket.transport.name, sid: socket.id });
      onOpen(socket);
      resolve(socket);
    });
    socket.on("upgrading", (t) => emit({ event: "upgrading", label, transport: t && t.name }));
    socket.on("upgrade", (t) =>
      emit({ event: "upgrade", label, transport: t && t.name, current: socket.transport.name }),
    );
    socket.on("upgradeError", (err) => emit({ event: "upgradeError", label, error: String(err && err.message) }));
    socket.on("error", (err) => {
      emit({ event: "error", label, error: String((err && err.message) || err) });
      if (!opened) reject(err);
    });
    socket.on("close", (reason, desc) => {
      emit({ event: "close", label, reason: String(reason), opened });
      if (!opened) reject(new Error(`closed before open: ${reason}`));
    });
  });
}

// Sends `payloads` and resolves once as many messages came back.
function exchange(socket, label, payloads) {
  return new Promise((resolve) => {
    let got = 0;
    const onMessage = (data) => {
      emit({ event: "message", label, transport: socket.transport.name, ...describe(data) });
      got += 1;
      if (got === payloads.length) {
        socket.off ? socket.off("message", onMessage) : socket.removeListener("message", onMessage);
        resolve();
      }
    };
    socket.on("message", onMessage);
    for (const p of payloads) socket.send(p);
  });
}

function waitFor(socket, event) {
  return new Promise((resolve) => socket.once(event, (...a) => resolve(a)));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectWithRetry(label, onOpen) {
  for (let attempt = 1; ; attempt++) {
    try {
      const socket = await connect(label, onOpen);
      emit({ event: "reconnected", label, attempts: attempt });
      return socket;
    } catch {
      await sleep(100);
    }
  }
}

function finish(socket) {
  emit({ event: "final", transport: socket.transport.name });
  socket.close();
  clearTimeout(timer);
  emit({ event: "done" });
  // ws / xhr handles may linger for a moment; we are done
  setTimeout(() => process.exit(0), 50);
}

async function main() {
  if (scenario === "upgrade" || scenario === "late-pong") {
    let first;
    let upgraded;
    const socket = await connect("main", (s) => {
      // register before anything can fire
      upgraded = waitFor(s, "upgrade");
      first = exchange(s, "before-upgrade", batch("A"));
    });
    await upgraded;
    emit({ event: "after-upgrade", transport: socket.transport.name });
    await first;
    await exchange(socket, "after-upgrade", batch("B"));
    finish(socket);
  } else if (scenario === "websocket" || scenario === "polling") {
    let first;
    const socket = await connect("main", (s) => {
      first = exchange(s, "main", batch("A"));
    });
    await first;
    // give a wrongly started upgrade a chance to show up
    await sleep(100);
    finish(socket);
  } else if (scenario.startsWith("reconnect")) {
    // only the default transports upgrade
    const upgrades = scenario === "reconnect";
    let first;
    let upgraded;
    const socket = await connect("first", (s) => {
      upgraded = upgrades ? waitFor(s, "upgrade") : null;
      first = exchange(s, "first", batch("A"));
    });
    await first;
    await upgraded;
    const closed = waitFor(socket, "close");
    emit({ event: "phase", phase: 1, transport: socket.transport.name });
    await closed;
    let second;
    let upgradedAgain;
    const again = await connectWithRetry("second", (s) => {
      upgradedAgain = upgrades ? waitFor(s, "upgrade") : null;
      second = exchange(s, "second", batch("C"));
    });
    await second;
    await upgradedAgain;
    finish(again);
  }
}

main().catch((err) => fail((err && err.stack) || err));

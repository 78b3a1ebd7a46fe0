// Drives two real socket.io-client 4.x clients against a framework example
// (Flask, Pyramid, Django) whose view calls hubbub.socketio_manage, and
// prints one JSON line: {"ok": true, ...what was seen} or {"ok": false, "error": ...}.
//
//   node framework_client.mjs <url> [websocket|polling|default]
//
// ann and bob connect to /chat with ?user=<name>, both join "lobby" (ack:
// their rooms), ann asks whoami (ack from self.request), ann says "hi" to
// the room (ack "delivered"; bob gets it, ann does not), both disconnect.

import { io } from "socket.io-client";

const [url, transportsName = "default"] = process.argv.slice(2);
const transports = {
  websocket: ["websocket"],
  polling: ["polling"],
  default: ["polling", "websocket"],
}[transportsName];

const hard = setTimeout(() => finish({ ok: false, error: "timeout" }), 12000);
const sockets = [];

function finish(result) {
  clearTimeout(hard);
  for (const s of sockets) s.disconnect();
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(result.ok ? 0 : 1);
}

function connect(user) {
  const socket = io(`${url}/chat`, { transports, query: { user }, reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (err) => reject(new Error(`${user}: ${err.message}`)));
  });
}

try {
  const ann = await connect("ann");
  const bob = await connect("bob");
  const annMessages = [];
  ann.on("message", (m) => annMessages.push(m));
  const bobGot = new Promise((resolve) => bob.once("message", resolve));
  const annRooms = await ann.timeout(5000).emitWithAck("join", "lobby");
  const bobRooms = await bob.timeout(5000).emitWithAck("join", "lobby");
  const whoami = await ann.timeout(5000).emitWithAck("whoami");
  const ack = await ann.timeout(5000).emitWithAck("message", "lobby", "hi");
  const received = await bobGot;
  // a sentinel round trip: anything addressed to ann would have arrived by now
  await ann.timeout(5000).emitWithAck("whoami");
  const transport = ann.io.engine.transport.name;
  const disconnected = new Promise((resolve) => ann.once("disconnect", resolve));
  ann.disconnect();
  const reason = await disconnected;
  finish({ ok: true, annRooms, bobRooms, whoami, ack, received, annMessages, transport, reason });
} catch (err) {
  finish({ ok: false, error: String(err) });
}

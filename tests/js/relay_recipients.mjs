// The real socket.io-client 4.x as recipients of a room's broadcasts, for the
// hostile suite (tests/hostile/test_hostile.py): what reaches a browser when
// another client sends values no client can be sent.
//
//   node relay_recipients.mjs <url> <room> [--timeout ms]
//
// Two clients, one on a websocket and one on HTTP long-polling, each with
// its own connection, join <room> (the server's "join" event, acked) and
// print, as JSON lines on stdout:
//   {"event":"ready"}                                   both joined
//   {"event":"relay","client":"websocket","args":[...]} a "relay" event received
//   {"event":"disconnect","client":...,"reason":...}    a client lost its connection
//                                                       (a JSON.parse failure of the
//                                                       parser is "parse error")
//   {"event":"error","client":...,"reason":...}         its Manager's or engine's error
//   {"event":"done"}                                    "end" read on stdin: the clients
//                                                       close, exit status 0
// On an unexpected error or the hard timeout: {"event":"fail",...}, exit status 1.

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);
const { io } = require("socket.io-client");

const argv = process.argv.slice(2);
const at = argv.indexOf("--timeout");
const hardTimeout = at >= 0 ? Number(argv[at + 1]) : 20000;
const [url, room] = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--timeout");

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function fail(reason) {
  emit({ event: "fail", reason: String(reason && reason.stack ? reason.stack : reason) });
  process.exit(1);
}

if (!url || !room) fail("usage: node relay_recipients.mjs <url> <room> [--timeout ms]");
setTimeout(() => fail(`hard timeout after ${hardTimeout} ms`), hardTimeout).unref();
process.on("unhandledRejection", fail);

let ending = false;

function recipient(name, transports) {
  const socket = io(url, { transports, forceNew: true, reconnection: false });
  socket.on("relay", (...args) => emit({ event: "relay", client: name, args }));
  socket.on("disconnect", (reason) => {
    if (!ending) emit({ event: "disconnect", client: name, reason });
  });
  socket.on("connect_error", (err) => fail(`${name}: connect_error ${err.message}`));
  socket.io.on("error", (err) => emit({ event: "error", client: name, reason: String(err) }));
  return socket;
}

async function joined(socket) {
  if (!socket.connected) {
    await new Promise((resolve) => socket.once("connect", resolve));
  }
  const answer = await socket.timeout(5000).emitWithAck("join", room);
  if (answer !== true) throw new Error(`join answered ${JSON.stringify(answer)}`);
}

const clients = [recipient("websocket", ["websocket"]), recipient("polling", ["polling"])];
await Promise.all(clients.map(joined));
emit({ event: "ready" });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() === "end") break;
}
ending = true;
for (const socket of clients) socket.disconnect();
emit({ event: "done" });
process.exit(0);

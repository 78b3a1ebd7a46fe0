// Runs @socket.io/redis-emitter operations given as JSON, then exits.
//
//   node redis_emitter.mjs <redis url> '<json list of operations>'
//
// An operation: {"op": "emit", "to": [...], "except": [...], "nsp": "/", "event": "e", "args": [...]}
//               {"op": "socketsJoin" | "socketsLeave", "to": [...], "rooms": [...]}
//               {"op": "disconnectSockets", "to": [...], "close": true}
//               {"op": "serverSideEmit", "event": "e", "args": [...]}

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");

const [redisUrl, opsText] = process.argv.slice(2);
const client = createClient({ url: redisUrl });
await client.connect();
const root = new Emitter(client);

for (const op of JSON.parse(opsText)) {
  let target = root.of(op.nsp || "/");
  if (op.op === "serverSideEmit") {
    target.serverSideEmit(op.event, ...(op.args || []));
    continue;
  }
  let selection = target;
  if (op.to && op.to.length) selection = selection.to(op.to);
  if (op.except && op.except.length) selection = selection.except(op.except);
  if (op.op === "emit") selection.emit(op.event, ...(op.args || []));
  else if (op.op === "socketsJoin") selection.socketsJoin(op.rooms);
  else if (op.op === "socketsLeave") selection.socketsLeave(op.rooms);
  else if (op.op === "disconnectSockets") selection.disconnectSockets(!!op.close);
  else throw new Error(`unknown op ${op.op}`);
}
// publishes are pipelined on the connection: QUIT waits for them
await client.quit();
console.log(JSON.stringify({ done: true }));

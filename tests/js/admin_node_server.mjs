// A Node socket.io 4.8 server with @socket.io/admin-ui's own instrument(),
// in a Redis cluster with hubbub servers (tests/cluster/test_admin_cluster.py).
//
//   node admin_node_server.mjs <port> <redis url> <server id>
//
// The admin namespace "/admin" needs no login; clients may 'join'(room, ack).

import { createRequire } from "node:module";
import { createServer } from "node:http";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const { createClient } = require("redis");
const { createAdapter } = require("@socket.io/redis-adapter");
const { instrument } = require("@socket.io/admin-ui");

const [portText, redisUrl, serverId] = process.argv.slice(2);

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
pub.on("error", (e) => console.error("redis pub error", e.message));
sub.on("error", (e) => console.error("redis sub error", e.message));
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub), cors: { origin: "*" } });
instrument(io, { auth: false, serverId, mode: "development" });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack([...socket.rooms].sort());
  });
});

httpServer.listen(Number(portText), "127.0.0.1", () => console.log(`listening on ${portText}`));

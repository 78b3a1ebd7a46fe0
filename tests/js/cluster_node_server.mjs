// A Node socket.io 4.8 server in a hubbub cluster: the twin of
// tests/cluster/cluster_app.py (same events, same answers).
//
//   node cluster_node_server.mjs <port> <redis url> <redis|sharded|streams> <name> [--recovery]

import { createRequire } from "node:module";
import { createServer } from "node:http";

const require = createRequire(import.meta.url);
const { Server } = require("socket.io");
const { createClient } = require("redis");

const [portText, redisUrl, kind, name] = process.argv.slice(2);
const recovery = process.argv.includes("--recovery");

const pub = createClient({ url: redisUrl });
const sub = pub.duplicate();
pub.on("error", (e) => console.error("redis pub error", e.message));
sub.on("error", (e) => console.error("redis sub error", e.message));
await Promise.all([pub.connect(), sub.connect()]);

let adapter;
if (kind === "redis") {
  adapter = require("@socket.io/redis-adapter").createAdapter(pub, sub);
} else if (kind === "sharded") {
  adapter = require("@socket.io/redis-adapter").createShardedAdapter(pub, sub);
} else if (kind === "streams") {
  adapter = require("@socket.io/redis-streams-adapter").createAdapter(pub);
} else {
  throw new Error(`unknown adapter ${kind}`);
}

const httpServer = createServer();
const io = new Server(httpServer, {
  adapter,
  cors: { origin: "*" },
  pingInterval: 1000,
  pingTimeout: 2000,
  connectionStateRecovery: recovery ? { maxDisconnectionDuration: 30000 } : undefined,
});

io.on("connection", (socket) => {
  socket.data = { server: name };
  socket.emit("welcome", { sid: socket.id, server: name, recovered: socket.recovered });

  const rooms = () => [...socket.rooms].filter((r) => r !== socket.id).sort();
  socket.on("join", (room, ack) => { socket.join(room); ack(rooms()); });
  socket.on("leave", (room, ack) => { socket.leave(room); ack(rooms()); });
  socket.on("emit_to", (to, except, event, payload, ack) => {
    io.to(to).except(except).emit(event, payload, name);
    ack(true);
  });
  socket.on("poll", (token, room, seconds) => {
    io.to(room).timeout(seconds * 1000).emit("poll", room, (err, responses) => {
      socket.emit("result", token, { timeout: !!err, responses: responses || [] });
    });
  });
  socket.on("fetch", async (token, room) => {
    const sockets = await io.in(room).fetchSockets();
    const out = sockets
      .map((s) => ({ id: s.id, server: s.data && s.data.server, rooms: [...s.rooms].sort() }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    socket.emit("result", token, out);
  });
  socket.on("remote_emit", async (token, room, event) => {
    const sockets = await io.in(room).fetchSockets();
    for (const s of sockets) s.emit(event, name);
    socket.emit("result", token, sockets.length);
  });
  socket.on("sockets_join", (room, newRoom, ack) => { io.in(room).socketsJoin(newRoom); ack(true); });
  socket.on("sockets_leave", (room, oldRoom, ack) => { io.in(room).socketsLeave(oldRoom); ack(true); });
  socket.on("disconnect_room", (room, ack) => { io.in(room).disconnectSockets(true); ack(true); });
  socket.on("server_side", (token, payload) => {
    io.serverSideEmit("hello", payload, (err, answers) => {
      socket.emit("result", token, { error: err ? String(err) : null, answers });
    });
  });
  socket.on("server_count", async (ack) => ack(await io.of("/").adapter.serverCount()));
  socket.on("ticker", (room, count, interval, ack) => {
    let i = 0;
    const tick = () => {
      io.to(room).emit("tick", i);
      i += 1;
      if (i < count) setTimeout(tick, interval * 1000);
    };
    tick();
    ack(true);
  });
});

io.on("hello", (payload, cb) => cb({ server: name, payload }));
io.on("announce", (payload) => io.local.emit("announced", name, payload));

httpServer.listen(Number(portText), "127.0.0.1", () => {
  console.log(`listening on ${portText} (${kind})`);
});
process.on("SIGTERM", () => process.exit(0));

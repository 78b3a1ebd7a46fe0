// The benchmark app on Node socket.io 0.9.17 (the 0.9 protocol's own server):
//   node benchmarks/node09/server.js PORT
// Same events as benchmarks/servers/hubbub_app.py: 'echo' answered by ack,
// 'join' a room, 'fanout' broadcasting a 100-byte event `count` times, 'chat'
// broadcasting the text it gets to the room (many senders).
"use strict";
// socket.io 0.9 predates the removal of process.EventEmitter from Node
process.EventEmitter = require("events").EventEmitter;
const http = require("http");

const port = Number(process.argv[2] || 3000);
const PAYLOAD = "x".repeat(100);
const seconds = (name, dflt) => Number(process.env[name] || dflt);

const server = http.createServer();
const io = require("socket.io").listen(server, {
  log: false,
  "browser client": false,
  "heartbeat interval": seconds("BENCH_PING_INTERVAL", 25),
  "heartbeat timeout": seconds("BENCH_PING_INTERVAL", 25) + seconds("BENCH_PING_TIMEOUT", 20),
});
io.set("transports", ["websocket", "htmlfile", "xhr-polling", "jsonp-polling"]);

io.sockets.on("connection", (socket) => {
  socket.on("echo", (data, ack) => ack(data));
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack("ok");
  });
  socket.on("fanout", (room, count) => {
    for (let i = 0; i < count; i++) io.sockets.in(room).emit("msg", PAYLOAD);
  });
  socket.on("chat", (room, text) => io.sockets.in(room).emit("msg", text));
});
server.listen(port, "127.0.0.1");

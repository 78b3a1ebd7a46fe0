// The benchmark app on Node socket.io 4.8 with its default ws engine:
//   node benchmarks/node/server.js PORT
// Same events as benchmarks/servers/hubbub_app.py: 'echo' answered by ack,
// 'join' a room, 'fanout' broadcasting a 100-byte event `count` times, 'chat'
// broadcasting the text it gets to the room (many senders). cluster.js runs
// the same app (`options`, `serve`) in each of its workers.
"use strict";
const { Server } = require("socket.io");

const PAYLOAD = "x".repeat(100);
const seconds = (name, dflt) => Number(process.env[name] || dflt) * 1000;

// the server options, the same for one process and for each cluster worker
const options = () => ({
  cors: { origin: "*" },
  serveClient: false,
  pingInterval: seconds("BENCH_PING_INTERVAL", 25),
  pingTimeout: seconds("BENCH_PING_TIMEOUT", 20),
});

function serve(io) {
  io.on("connection", (socket) => {
    socket.on("echo", (data, ack) => ack(data));
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack("ok");
    });
    socket.on("fanout", (room, count) => {
      for (let i = 0; i < count; i++) io.to(room).emit("msg", PAYLOAD);
    });
    socket.on("chat", (room, text) => io.to(room).emit("msg", text));
  });
}

module.exports = { options, serve };

if (require.main === module) {
  serve(new Server(Number(process.argv[2] || 3000), options()));
}

// The Node socket.io 0.9.17 server the Python client's interop tests talk
// to: node client_peer09.js PORT. The events of client_peer4.js that 0.9
// has (no binary): a handshake with ?token=bad is refused (403 "handshake
// unauthorized"), as a namespace connect with ?token=bad is.
"use strict";
// socket.io 0.9 predates the removal of process.EventEmitter from Node
process.EventEmitter = require("events").EventEmitter;
const http = require("http");

const port = Number(process.argv[2] || 3000);
const server = http.createServer();
const io = require("socket.io-v09").listen(server, {
  log: false,
  "browser client": false,
  "heartbeat interval": 1,
  "heartbeat timeout": 3,
  "close timeout": 3,
});
io.set("transports", ["websocket", "xhr-polling"]);
io.set("authorization", (data, cb) => cb(null, data.query.token !== "bad"));

function setup(nsp, name) {
  nsp.authorization((data, cb) => cb(null, data.query.token !== "bad"));
  nsp.on("connection", (socket) => {
    const { t, ...auth } = socket.handshake.query;
    socket.emit("welcome", { auth, nsp: name, header: socket.handshake.headers["x-client-test"] });
    socket.on("echo", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
    socket.on("ask", (value, ack) => {
      let done = false;
      const timer = setTimeout(() => { done = true; ack({ timeout: true }); }, 5000);
      // a callback declaring parameters: 0.9 asks for the answer's data ("+")
      // only when the callback's length is not 0
      socket.emit("question", value, function (first) {
        if (done) return;
        clearTimeout(timer);
        ack({ answer: Array.prototype.slice.call(arguments) });
      });
    });
    socket.on("start_ticker", (count, seconds) => {
      let i = 0;
      const timer = setInterval(() => {
        socket.emit("tick", i++);
        if (i >= count) clearInterval(timer);
      }, seconds * 1000);
    });
    socket.on("kick", () => socket.disconnect());
  });
}
setup(io.sockets, "/");
setup(io.of("/chat"), "/chat");
server.listen(port, "127.0.0.1");

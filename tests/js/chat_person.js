// A person in examples/chat, as a page would be (socket.io-client 4):
//   node chat_person.js URL ROOM LINE...
// joins ROOM as "ann", says each LINE (one after the other's ack) and
// prints one JSON object per line of what happens: {joined}, {message},
// {system}, {error}.
"use strict";
const { io } = require("socket.io-client");

const [url, room, ...lines] = process.argv.slice(2);
const socket = io(url + "/chat", { auth: { nick: "ann" }, transports: ["websocket"] });
const out = (o) => process.stdout.write(JSON.stringify(o) + "\n");
socket.on("connect_error", (err) => out({ error: String(err) }));
socket.on("message", (message) => out({ message }));
socket.on("system", (system) => out({ system }));
socket.on("connect", async () => {
  out({ joined: await socket.emitWithAck("join", room) });
  for (const line of lines) await socket.emitWithAck("message", line);
});

// The chat page: socket.io-client 4 talking to hubbub's /chat namespace.
const $ = (id) => document.getElementById(id);
let socket = null;
const typers = new Set();

function add(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("messages").appendChild(li);
}

function showTyping() {
  $("typing").textContent = typers.size ? [...typers].join(", ") + " typing..." : "";
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  socket = io("/chat", { auth: { nick: $("nick").value } });
  socket.on("connect", async () => {
    const joined = await socket.emitWithAck("join", $("room").value);
    $("login").hidden = true;
    $("chat").hidden = false;
    $("where").textContent = "#" + joined.room;
    $("members").textContent = "(" + joined.members.join(", ") + ")";
    document.body.dataset.joined = joined.room;
  });
  socket.on("connect_error", (err) => add("cannot connect: " + err.message, "system"));
  socket.on("message", (m) => { typers.delete(m.nick); showTyping(); add(m.nick + ": " + m.text); });
  socket.on("system", (text) => add(text, "system"));
  socket.on("typing", ({ nick, typing }) => { typing ? typers.add(nick) : typers.delete(nick); showTyping(); });
});

let typingTimer = null;
$("text").addEventListener("input", () => {
  if (!socket) return;
  if (!typingTimer) socket.emit("typing", true);
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { socket.emit("typing", false); typingTimer = null; }, 1000);
});

$("send").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text || !socket) return;
  socket.emit("message", text);
  $("text").value = "";
  clearTimeout(typingTimer);
  typingTimer = null;
  socket.emit("typing", false);
});

// The chat page: socket.io-client 4 talking to hubbub's /chat namespace.
const $ = (id) => document.getElementById(id);
let socket = null;
const typers = new Set();
const members = new Map(); // nick -> how many tabs of the room use it

function add(text, cls) {
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 5;
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  list.appendChild(li);
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function showTyping() {
  $("typing").textContent = typers.size ? [...typers].join(", ") + " typing..." : "";
}

function showMembers() {
  $("members").textContent = "(" + [...members.keys()].sort().join(", ") + ")";
}

// the server announces arrivals and departures as "<nick> joined" / "<nick> left"
function trackMembers(text) {
  const m = /^(.*) (joined|left)$/s.exec(text);
  if (!m) return;
  const [, nick, what] = m;
  const n = (members.get(nick) || 0) + (what === "joined" ? 1 : -1);
  if (n > 0) members.set(nick, n);
  else members.delete(nick);
  if (what === "left") typers.delete(nick);
  showMembers();
  showTyping();
}

$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  $("error").textContent = "";
  if (socket) socket.disconnect(); // a refused nickname: try again with a new one
  socket = io("/chat", { auth: { nick: $("nick").value } });
  socket.on("connect", async () => {
    const joined = await socket.emitWithAck("join", $("room").value);
    $("login").hidden = true;
    $("chat").hidden = false;
    $("where").textContent = "#" + joined.room;
    members.clear();
    for (const nick of joined.members) members.set(nick, (members.get(nick) || 0) + 1);
    showMembers();
    document.body.dataset.joined = joined.room;
    $("text").focus();
  });
  socket.on("connect_error", (err) => {
    const text = "cannot connect: " + err.message;
    if ($("chat").hidden) $("error").textContent = text; // still on the login form
    else add(text, "system");
  });
  socket.on("disconnect", (reason) => {
    typers.clear();
    showTyping();
    add("disconnected (" + reason + ")", "system");
  });
  socket.on("message", (m) => { typers.delete(m.nick); showTyping(); add(m.nick + ": " + m.text); });
  socket.on("system", (text) => { trackMembers(text); add(text, "system"); });
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

/*
 * hubbub channels: socket.subscribe(channel) and socket.unsubscribe(channel)
 * for Socket.IO sockets of every generation, so one channel (a room on the
 * server) holds pages of each:
 *
 *   Socket.IO 0.6 (new io.Socket()):  sends the messages "__subscribe__" and
 *     the channel in one payload, as django-socketio's pages did; an array
 *     given to send() goes as one JSON message {"__array__": [...]} (the 0.6
 *     client would otherwise send each element as a message of its own);
 *   socket.io-client 0.9 (io.connect()) and 1.x-4.x (io()):  emits the event
 *     "__subscribe__" / "__unsubscribe__" with the channel.
 *
 * Load it after the client: <script src="/socket.io/channels.js"></script>.
 * Under Node: require(".../channels.js")(io) with the client's io.
 */
(function (root, install) {
  if (typeof module === "object" && module && module.exports) {
    module.exports = install;
  } else if (root && root.io) {
    install(root.io);
  }
})(this, function install(io) {
  "use strict";
  var SUBSCRIBE = "__subscribe__";
  var UNSUBSCRIBE = "__unsubscribe__";

  function isArray(value) {
    return Object.prototype.toString.call(value) === "[object Array]";
  }

  function define(proto, methods) {
    for (var name in methods) {
      if (Object.prototype.hasOwnProperty.call(methods, name)) proto[name] = methods[name];
    }
  }

  function byEvent(proto) {
    define(proto, {
      subscribe: function (channel) {
        this.emit(SUBSCRIBE, String(channel));
        return this;
      },
      unsubscribe: function (channel) {
        this.emit(UNSUBSCRIBE, String(channel));
        return this;
      }
    });
  }

  if (!io || io.__hubbubChannels) return io;
  var version = String(io.version || "");
  if (/^0\.6\./.test(version) && io.Socket) {
    var proto06 = io.Socket.prototype;
    var send06 = proto06.send;
    define(proto06, {
      send: function (data) {
        if (isArray(data)) return send06.call(this, { __array__: data });
        return send06.apply(this, arguments);
      },
      subscribe: function (channel) {
        send06.call(this, [SUBSCRIBE, String(channel)]);
        return this;
      },
      unsubscribe: function (channel) {
        send06.call(this, [UNSUBSCRIBE, String(channel)]);
        return this;
      }
    });
  } else if (io.SocketNamespace) {
    byEvent(io.SocketNamespace.prototype); // 0.9: what io.connect() returns
  } else if (io.Socket) {
    byEvent(io.Socket.prototype); // 1.x to 4.x
  }
  io.__hubbubChannels = true;
  return io;
});

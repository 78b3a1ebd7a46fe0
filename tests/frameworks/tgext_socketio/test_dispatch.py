# PORT: no gevent.monkey.patch_all() here: pytest runs these in one process
# with the rest of hubbub's suite (asyncio servers in threads), which patching
# would change; nothing below needs it (the greenlets and queues are gevent's own)

import json
from hubbub.tgext_socketio import SocketIOTGNamespace  # PORT: was tgext.socketio
from .utils import create_app, configure_app


class PingPong(SocketIOTGNamespace):
    def on_ping(self, attack):
        if attack['type'] == 'fireball':
            for i in range(10):
                self.emit('pong', {'sound':'bang!'})
        else:
            self.emit('pong', {'sound':'pong'})


class TestSocketIODispatch(object):
    def test_basic_request(self):
        app = create_app(configure_app(PingPong))
        resp = app.request('/socketio/test', body=json.dumps({'type': 'event',
                                                              'name': 'ping',
                                                              'endpoint': '',
                                                              'args': [{'type': 'ping'}]}).encode())  # PORT: bytes body

        socketio_send_packet = resp.req.environ['socketio'].send_packet
        socketio_send_packet.assert_called_once_with({'endpoint': '/test',
                                                      'type': 'event',
                                                      'name': 'pong',
                                                      'args': ({'sound': 'pong'},)})

    def test_invalid_request_notsocketio(self):
        app = create_app(configure_app(PingPong))
        resp = app.request('/socketio/test', environ={'mocksocketio': 'false'}, status=400)

    def test_invalid_request_nonamespace(self):
        app = create_app(configure_app(PingPong))
        resp = app.request('/socketio/none', status=400)

    def test_method_not_found(self):
        app = create_app(configure_app(PingPong))
        resp = app.request('/socketio/test', body=json.dumps({'type': 'event',
                                                              'name': 'missingmethod',
                                                              'endpoint': '',
                                                              'args': [{'type': 'ping'}]}).encode())

        socketio_error = resp.req.environ['socketio'].error
        socketio_error.assert_called_once_with('no_such_method',
                                               'The method "on_missingmethod" was not found',
                                               msg_id=None, endpoint='/test', quiet=False)

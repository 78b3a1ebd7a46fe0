"""Fixtures of tgext.socketio's tests/utils.py, ported to Python 3, TurboGears 2.5
and hubbub. Changes from the original are marked PORT."""
from unittest.mock import MagicMock  # PORT: the mock package -> unittest.mock

from formencode import Invalid
from tg import AppConfig, TGController, request
from tg.configuration import milestones
from tg.configuration.auth import TGAuthMetadata
from webtest import TestApp

from hubbub.gevent_socketio.virtsocket import Socket  # PORT: was socketio.virtsocket


class FakeUser(object):
    """
    Fake user that emulates an users without the need to actually
    query it from the database, it is able to trick sprox when
    resolving relations to the blog post Author.
    """
    def __int__(self):
        return 1

    def __getattr__(self, item):
        if item == 'user_id':
            return 1
        elif item == '_id':
            return self
        return super(FakeUser, self).__getattr__(item)


class TestAuthMetadata(TGAuthMetadata):
    __test__ = False  # PORT: not a pytest class

    def authenticate(self, environ, identity):
        return 'user'

    def get_user(self, identity, userid):
        if userid:
            return FakeUser()

    def get_groups(self, identity, userid):
        if userid:
            return ['managers']
        return []

    def get_permissions(self, identity, userid):
        if userid:
            return ['turbopress']
        return []


class MockSocketIOServer(object):
    """Mock a SocketIO server"""
    def __init__(self, *args, **kwargs):
        self.sockets = {}

    def get_socket(self, socket_id=''):
        return self.sockets.get(socket_id)


class MockSocket(Socket):
    pass


def _formencode_explode(exception):
    # PORT: what tgext.formencode's component registers for Invalid
    errors = {}
    for line in str(exception).split('\n'):
        parts = [p.strip() for p in line.split(':', 1)]
        if len(parts) == 1:
            errors['_the_form'] = parts[0]
        else:
            errors[parts[0]] = parts[1]
    return {'errors': errors, 'values': getattr(exception, 'value', {})}


def configure_app(namespace):
    # Simulate starting configuration process from scratch
    if milestones.renderers_ready.reached:
        milestones._reset_all()

    from hubbub.tgext_socketio import SocketIOController  # PORT: was tgext.socketio

    class SocketIO(SocketIOController):
        test = namespace

    class RootController(TGController):
        socketio = SocketIO()

        def __call__(self, *args, **kwargs):
            if request.environ.get('mocksocketio', True) != 'false':
                server = MockSocketIOServer()
                socket = MockSocket(server, {})
                socket.error = MagicMock()
                socket.send_packet = MagicMock()
                request.environ['socketio'] = socket

            request.identity = request.environ.get('repoze.who.identity')
            return super(TGController, self).__call__(*args, **kwargs)

    app_cfg = AppConfig(minimal=True, root_controller=RootController())
    # PORT: TG 2.5's AppConfig(minimal=True) sets sa_auth.enabled = False;
    # TG 2.3 turned authentication on with auth_backend (gone in 2.5)
    app_cfg['sa_auth.enabled'] = True
    app_cfg.sa_auth.authmetadata = TestAuthMetadata()
    app_cfg.sa_auth.cookie_secret = 'SECRET'
    app_cfg['beaker.session.secret'] = 'SECRET'
    app_cfg['anypubsub.backend'] = 'memory'
    # PORT: TG 2.3 always caught FormEncode's Invalid as a validation error;
    # TG 2.5 does so only when told (tgext.formencode's component does this)
    app_cfg['validation.exceptions'] = [Invalid]
    app_cfg['validation.explode'] = {Invalid: _formencode_explode}

    return app_cfg


def create_app(app_config, auth=False):
    app = app_config.make_wsgi_app(skip_authentication=True)
    if auth:
        return TestApp(app, extra_environ=dict(REMOTE_USER='user'))
    else:
        return TestApp(app)

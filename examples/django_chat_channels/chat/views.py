from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from chat.rooms import ROOM_NAMES
from hubbub.django_socketio import NoSocket, broadcast, broadcast_channel


def rooms(request: HttpRequest) -> HttpResponse:
    return render(request, "chat/rooms.html", {"rooms": sorted(ROOM_NAMES.items())})


def room(request: HttpRequest, room_id: str) -> HttpResponse:
    rid = int(room_id)
    if rid not in ROOM_NAMES:
        raise Http404("no such room")
    return render(request, "chat/room.html", {"room": rid, "name": ROOM_NAMES[rid]})


@csrf_exempt  # the original was a staff-only form; here anyone may post (a demo)
@require_POST
def system_message(request: HttpRequest) -> HttpResponse:
    """Out of band: a plain view sends into a room (or to everyone)."""
    data = {"action": "system", "message": request.POST.get("message", "")}
    room = request.POST.get("room")
    try:
        if room:
            broadcast_channel(data, channel="room-" + room)
        else:
            broadcast(data)
    except NoSocket as exc:
        return HttpResponse(str(exc), content_type="text/plain")
    return HttpResponse("Message sent", content_type="text/plain")

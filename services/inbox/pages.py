"""The web app's pages: server-rendered, each over the operator API (see web/api.py).

Full pages for links and reloads, fragments for htmx (the live list, the live
conversation, a reply, a task). Every mutation is a POST carrying the CSRF token,
forwarded to the API, which decides; whatever it refuses, the page shows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from services.inbox.web import assets, i18n, media, present
from services.inbox.web.api import Api, api, path
from services.inbox.web.render import render, zone

router = APIRouter(include_in_schema=False)
ApiClient = Annotated[Api, Depends(api)]
LIST_FILTERS = ("q", "channel", "mode", "unread", "has_tasks", "sentiment", "cursor")


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _back(request: Request, fallback: str) -> RedirectResponse:
    """After a plain form post (no JavaScript): back where the person was."""
    referer = request.headers.get("referer", "")
    here = str(request.base_url)
    target = referer if referer.startswith(here) else fallback
    return RedirectResponse(target, status_code=303)


def _list_params(request: Request) -> dict[str, str]:
    return {k: v for k in LIST_FILTERS if (v := request.query_params.get(k, ""))}


def _error_page(request: Request, problem: HTTPException, me: dict[str, Any]) -> Response:
    """A page the API refused (an unknown contact, a bad date): said on a page, not in JSON."""
    context = {"me": me, "status": problem.status_code, "detail": problem.detail}
    return render(request, "error.html", context, status_code=problem.status_code)


async def _me(client: Api) -> dict[str, Any]:
    answer = await client.call("GET", "/api/auth/me")
    return answer.body if isinstance(answer.body, dict) else {}


async def _list(client: Api, params: dict[str, str]) -> dict[str, Any]:
    answer = await client.call("GET", "/api/conversations", params=params)
    if answer.ok:
        return {"page": answer.body, "filters": params, "list_error": None}
    return {"page": {"items": [], "next_cursor": None}, "filters": params, "list_error": answer}


async def _detail(client: Api, contact: str) -> dict[str, Any]:
    return {"conversation": await client.get(path("conversations", contact))}


def _templates(request: Request) -> list[tuple[str, str]]:
    from services.inbox.state import inbox  # the running service's settings

    found: list[tuple[str, str]] = inbox(request).settings.templates()
    return found


# --- sign-in -----------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, client: ApiClient) -> Response:
    me = await client.call_signed_out_ok("GET", "/api/auth/me")
    if me.status == 401:
        return render(request, "login.html", {})
    params = _list_params(request)
    return render(request, "inbox.html", {"me": me.body, **await _list(client, params)})


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    client: ApiClient,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    body = {"email": email, "password": password}
    answer = await client.call_signed_out_ok("POST", "/api/auth/login", json=body)
    if not answer.ok:
        problem = {
            401: "Wrong e-mail or password.",
            422: "Wrong e-mail or password.",
            429: "Too many failed sign-ins; try again later.",
        }.get(answer.status)
        context = {"error": problem, "error_detail": answer.detail, "email": email}
        return render(request, "login.html", context, status_code=answer.status)
    response = RedirectResponse("/", status_code=303)
    for cookie in answer.headers.get_list("set-cookie"):
        response.headers.append("set-cookie", cookie)
    return response


@router.post("/logout")
async def logout(client: ApiClient) -> Response:
    answer = await client.call_signed_out_ok("POST", "/api/auth/logout")
    response = RedirectResponse("/", status_code=303)
    for cookie in answer.headers.get_list("set-cookie"):
        response.headers.append("set-cookie", cookie)
    response.delete_cookie("hilo_session", path="/")
    response.delete_cookie("hilo_csrf", path="/")
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, next: str = "/") -> Response:
    if code not in i18n.LANGUAGES:
        raise HTTPException(404, detail=f"unknown language {code!r}")
    # Only a path on this site: never a redirect elsewhere.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


# --- conversations -----------------------------------------------------------------------


@router.get("/ui/conversations", response_class=HTMLResponse)
async def conversation_list(request: Request, client: ApiClient) -> Response:
    context = await _list(client, _list_params(request))
    context["current"] = request.query_params.get("current")
    return render(request, "_list.html", context)


@router.get("/conversations/{contact}", response_class=HTMLResponse)
async def conversation_page(request: Request, contact: str, client: ApiClient) -> Response:
    me = await _me(client)
    context = await _list(client, _list_params(request))
    try:
        context.update(await _detail(client, contact))
    except HTTPException as problem:
        if problem.status_code in (303, 401):
            raise
        return _error_page(request, problem, me)
    context.update(me=me, current=context["conversation"]["contact"], templates=_templates(request))
    context["idempotency_key"] = uuid.uuid4()
    return render(request, "inbox.html", context)


@router.get("/ui/conversations/{contact}", response_class=HTMLResponse)
async def conversation_live(request: Request, contact: str, client: ApiClient) -> Response:
    return render(request, "_detail.html", await _detail(client, contact))


@router.post("/conversations/{contact}/read", status_code=204)
async def mark_read(contact: str, client: ApiClient) -> Response:
    await client.call("POST", path("conversations", contact, "read"))
    return Response(status_code=204)


@router.post("/conversations/{contact}/reply", response_class=HTMLResponse)
async def reply(
    request: Request,
    contact: str,
    client: ApiClient,
    text: Annotated[str, Form()] = "",
    template: Annotated[str, Form()] = "",
    variables: Annotated[list[str] | None, Form()] = None,
    idempotency_key: Annotated[str, Form()] = "",
) -> Response:
    body: dict[str, Any]
    if template:
        name, _, template_language = template.partition(":")
        values = {str(n): v for n, v in enumerate(variables or [], start=1) if v.strip()}
        body = {
            "template": {"name": name, "language": template_language or "es", "variables": values}
        }
    else:
        body = {"text": text.strip() or None}
    answer = await client.call(
        "POST",
        path("conversations", contact, "messages"),
        json=body,
        headers={"Idempotency-Key": idempotency_key} if idempotency_key else None,
    )
    if not _is_htmx(request) and answer.ok:
        return _back(request, f"/conversations/{contact}")
    conversation = await client.get(path("conversations", contact))
    context: dict[str, Any] = {
        "conversation": conversation,
        "templates": _templates(request),
        "idempotency_key": uuid.uuid4(),
        "refusal": None if answer.ok else answer,
        "draft": "" if answer.ok else text,
    }
    if not _is_htmx(request):  # no JavaScript: the whole page, with the refusal in it
        context.update(await _list(client, {}), me=await _me(client))
        context["current"] = conversation["contact"]
        return render(request, "inbox.html", context, status_code=answer.status)
    if answer.ok:
        context["pending"] = {
            "key": f"reply:{answer.body['reply_id']}",
            "text": body.get("text") or f"[{body['template']['name']}]",
        }
    return render(request, "_composer.html", context, status_code=200)


@router.post("/conversations/{contact}/{action}", response_class=HTMLResponse)
async def takeover_or_handback(
    request: Request, contact: str, action: str, client: ApiClient
) -> Response:
    if action not in ("takeover", "handback"):
        raise HTTPException(404, detail="no such action")
    answer = await client.call("POST", path("conversations", contact, action))
    if not _is_htmx(request):
        return _back(request, f"/conversations/{contact}")
    context = await _detail(client, contact)
    context["requested"] = action if answer.ok else None
    context["action_error"] = None if answer.ok else answer.detail
    return render(request, "_detail.html", context)


@router.get("/media/{contact}/{key}/{index}")
async def voice_note(contact: str, key: str, index: int, client: ApiClient) -> Response:
    """A voice note for the page's player, fetched from the provider with Hilo's credentials."""
    conversation = await client.get(path("conversations", contact))
    item = next((i for i in conversation.get("items", []) if i.get("key") == key), None)
    found = (item or {}).get("media") or []
    if not 0 <= index < len(found):
        raise HTTPException(404, detail="no such voice note")
    if (item or {}).get("audio_expired"):
        # Retention let it go: Hilo no longer hands it out, even if the provider still has it.
        raise HTTPException(410, detail="this voice note's audio was deleted after its retention")
    return await media.fetch(found[index], (item or {}).get("provider"))


# --- tasks, calendar, analytics ----------------------------------------------------------


@router.get("/tasks", response_class=HTMLResponse)
async def tasks_page(
    request: Request,
    client: ApiClient,
    status: str = "open",
    assignee: str = "",
    due_before: str = "",
) -> Response:
    me = await _me(client)
    answer = await client.call(
        "GET", "/api/tasks", params={"status": status if status != "all" else None, "limit": 500}
    )
    items = answer.body.get("items", []) if answer.ok else []
    if assignee:  # the API filters by status and contact; the rest is done here
        wanted = assignee.strip().lower()
        items = [t for t in items if (t.get("assignee") or "").lower() == wanted]
    if due_before:
        items = [t for t in items if t.get("due") and t["due"] <= due_before]
    context = {
        "me": me,
        "tasks": items,
        "error": None if answer.ok else answer.detail,
        "filters": {"status": status, "assignee": assignee, "due_before": due_before},
    }
    return render(request, "tasks.html", context)


@router.post("/tasks/{task_id}", response_class=HTMLResponse)
async def edit_task(
    request: Request,
    task_id: str,
    client: ApiClient,
    status: Annotated[str, Form()] = "",
    assignee: Annotated[str | None, Form()] = None,
    due: Annotated[str | None, Form()] = None,
    where: Annotated[str, Form()] = "row",
) -> Response:
    change: dict[str, Any] = {}
    if status:
        change["status"] = status
    if assignee is not None:
        change["assignee"] = assignee.strip() or None
    if due is not None:
        change["due"] = due or None
    answer = await client.call("PATCH", path("tasks", task_id), json=change)
    if not _is_htmx(request):
        return _back(request, "/tasks")
    task = await _task(client, task_id)
    if answer.ok:
        task.update(change)  # the API accepted it; the read model catches up
    context = {"task": task, "where": where, "error": None if answer.ok else answer.detail}
    return render(request, "_task.html", context)


async def _task(client: Api, task_id: str) -> dict[str, Any]:
    for status in ("open", "done", "cancelled"):
        answer = await client.call("GET", "/api/tasks", params={"status": status, "limit": 500})
        for task in answer.body.get("items", []) if answer.ok else []:
            if task.get("task_id") == task_id:
                found: dict[str, Any] = task
                return found
    raise HTTPException(404, detail=f"no task {task_id}")


def _day(value: str, fallback: date) -> date:
    try:
        return date.fromisoformat(value) if value else fallback
    except ValueError:
        raise HTTPException(422, detail=f"not a date (YYYY-MM-DD): {value!r}") from None


@router.get("/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, client: ApiClient, week: str = "") -> Response:
    me = await _me(client)
    local_zone = zone(request)
    today = datetime.now(local_zone).date()
    try:
        first = present.week_start(_day(week, today))
    except HTTPException as problem:
        return _error_page(request, problem, me)
    since = datetime.combine(first, datetime.min.time(), local_zone)
    until = since + timedelta(days=7)
    params = {"from": since.isoformat(), "to": until.isoformat()}
    answer = await client.call("GET", "/api/calendar", params=params)
    events = answer.body.get("items", []) if answer.ok else []
    context = {
        "me": me,
        "days": present.week(first, events, local_zone),
        "first": first,
        "today": today,
        "previous": (first - timedelta(days=7)).isoformat(),
        "next": (first + timedelta(days=7)).isoformat(),
        "feed": media.calendar_feed_url(request),
        "error": None if answer.ok else answer.detail,
    }
    return render(request, "calendar.html", context)


@router.get("/analytics", response_class=HTMLResponse)
async def analytics_page(
    request: Request,
    client: ApiClient,
    since: Annotated[str, Query(alias="from")] = "",
    until: Annotated[str, Query(alias="to")] = "",
) -> Response:
    me = await _me(client)
    today = datetime.now(UTC).date()
    try:
        last = _day(until, today)
        first = _day(since, last - timedelta(days=29))
    except HTTPException as problem:
        return _error_page(request, problem, me)
    answer = await client.call(
        "GET", "/api/analytics", params={"from": first.isoformat(), "to": last.isoformat()}
    )
    figures = answer.body if answer.ok else {}
    context = {
        "me": me,
        "first": first,
        "last": last,
        "figures": figures,
        "error": None if answer.ok else answer.detail,
        "charts": {
            "messages": present.messages_per_day(figures),
            "sentiment": present.sentiment_over_time(figures),
            "responses": present.response_times(figures),
            "intents": present.intents(figures),
            "tasks": {
                "created": figures.get("tasks_created", 0),
                "done": figures.get("tasks_done", 0),
            },
        },
    }
    return render(request, "analytics.html", context)


# --- files -------------------------------------------------------------------------------


@router.get("/static/{name}")
async def static(name: str) -> Response:
    try:
        found = assets.find(name)
    except assets.MissingAsset as exc:
        raise HTTPException(503, detail=str(exc)) from None
    if found is None:
        raise HTTPException(404, detail="no such file")
    headers = {"Cache-Control": "public, max-age=3600"}
    return FileResponse(found, media_type=assets.media_type(found), headers=headers)

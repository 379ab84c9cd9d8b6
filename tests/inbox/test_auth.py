"""Sign-in, sessions with CSRF, bearer tokens, roles, rate limits."""

from __future__ import annotations

import httpx

from hilo.testing import eventually
from tests.inbox.conftest import ADMIN_EMAIL, AGENT_EMAIL, CONTACT, PASSWORD, Stack, inbound

# Every route but login, with a harmless call each: all answer 401 without credentials.
PROTECTED = [
    ("GET", "/api/auth/me", None),
    ("POST", "/api/auth/logout", None),
    ("GET", "/api/operators", None),
    ("GET", "/api/openapi.json", None),
    ("GET", "/api/conversations", None),
    ("GET", f"/api/conversations/{CONTACT}", None),
    ("POST", f"/api/conversations/{CONTACT}/read", None),
    ("POST", f"/api/conversations/{CONTACT}/messages", {"text": "hola"}),
    ("POST", f"/api/conversations/{CONTACT}/takeover", None),
    ("POST", f"/api/conversations/{CONTACT}/handback", None),
    ("GET", "/api/tasks", None),
    ("PATCH", "/api/tasks/00000000-0000-0000-0000-000000000000", {"status": "done"}),
    ("GET", "/api/calendar", None),
    ("GET", "/api/analytics", None),
    ("GET", "/api/stream", None),
    ("GET", "/api/flows", None),
    ("GET", "/api/flows/sessions", None),
    ("GET", f"/api/flows/sessions/{CONTACT}", None),
    ("POST", "/api/flows/start", {"contact": CONTACT, "flow": "intake"}),
    ("POST", f"/api/flows/sessions/{CONTACT}/reset", None),
]


async def test_every_route_but_login_needs_credentials(stack: Stack) -> None:
    async with stack.client() as anonymous, stack.client("hilo_not-a-token") as forged:
        for method, path, body in PROTECTED:
            response = await anonymous.request(method, path, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert "detail" in response.json()
            response = await forged.request(method, path, json=body)
            assert response.status_code == 401, (method, path)
    published = await stack.pool.fetchval("SELECT count(*) FROM events")
    assert published == 0


async def test_agents_may_not_use_admin_routes(stack: Stack) -> None:
    async with stack.agent() as agent, stack.admin() as admin:
        for path in ("/api/analytics", "/api/operators"):
            refused = await agent.get(path)
            assert refused.status_code == 403, path
            assert refused.json()["detail"] == "this needs the admin role"
            assert (await admin.get(path)).status_code == 200
        me = (await agent.get("/api/auth/me")).json()
        assert me == {"id": me["id"], "name": "agent-script", "role": "agent", "via": "token"}


async def test_a_session_cookie_signs_in_and_mutations_need_the_csrf_token(stack: Stack) -> None:
    await stack.publish(first := inbound("Hola"))
    await stack.projected(first)
    async with stack.client() as browser:
        signed_in = await browser.post(
            "/api/auth/login", json={"email": AGENT_EMAIL.upper(), "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        body = signed_in.json()
        assert body["operator"]["name"] == AGENT_EMAIL and body["operator"]["role"] == "agent"
        cookie = signed_in.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie if c.startswith("hilo_session="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "Secure" not in session_cookie  # HILO_PUBLIC_URL is not https here
        assert (await browser.get("/api/auth/me")).json()["via"] == "session"
        path = f"/api/conversations/{CONTACT}/read"
        forged = await browser.post(path)
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
        allowed = await browser.post(path, headers={"X-CSRF-Token": body["csrf_token"]})
        assert allowed.status_code == 202

        async def marked() -> str | None:
            operator: str | None = await stack.pool.fetchval(
                "SELECT data->>'operator' FROM events WHERE type = 'conversation.read_marked'"
            )
            return operator

        assert await eventually(marked) == AGENT_EMAIL
        out = await browser.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        assert out.status_code == 204
        browser.cookies.set("hilo_session", session_cookie.split(";")[0].split("=", 1)[1])
        assert (await browser.get("/api/auth/me")).status_code == 401


async def test_wrong_passwords_are_rate_limited(stack: Stack) -> None:
    async with stack.client() as browser:
        for _ in range(3):
            wrong = await browser.post(
                "/api/auth/login", json={"email": ADMIN_EMAIL, "password": "not it at all"}
            )
            assert wrong.status_code == 401
            assert wrong.json() == {"detail": "wrong e-mail or password"}
        blocked = await browser.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
        assert blocked.status_code == 429 and "Retry-After" in blocked.headers
        unknown = await browser.post(
            "/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
        )
        assert unknown.status_code == 401
        malformed = await browser.post("/api/auth/login", json={"email": ADMIN_EMAIL})
        assert malformed.status_code == 422


async def test_a_revoked_token_stops_working(stack: Stack) -> None:
    from services.inbox.store import AccountStore

    async with stack.agent() as agent:
        assert (await agent.get("/api/auth/me")).status_code == 200
        assert await AccountStore(stack.pool).revoke_token("agent-script")
        assert (await agent.get("/api/auth/me")).status_code == 401


async def test_the_openapi_document_describes_the_routes(stack: Stack) -> None:
    async with stack.admin() as admin:
        document = (await admin.get("/api/openapi.json")).json()
    paths = document["paths"]
    for path in (
        "/api/conversations",
        "/api/conversations/{contact}",
        "/api/conversations/{contact}/messages",
        "/api/tasks/{task_id}",
        "/api/analytics",
        "/api/flows/start",
    ):
        assert path in paths, path
    schemas = document["components"]["schemas"]
    assert {"ConversationPage", "ConversationDetail", "TaskPage", "Analytics"} <= set(schemas)
    assert isinstance(httpx.URL(f"{stack.base_url}/api/openapi.json"), httpx.URL)


async def test_a_nul_character_is_refused_with_a_422_not_a_database_error(stack: Stack) -> None:
    """PostgreSQL stores no NUL character; `make fuzz` once got a 500 from the login."""
    async with stack.client() as browser:
        login = await browser.post(
            "/api/auth/login", json={"email": "a\u0000@example.com", "password": PASSWORD}
        )
        assert login.status_code == 422
        assert "NUL" in str(login.json()["detail"])
    async with stack.admin() as admin:
        search = await admin.get("/api/conversations", params={"q": "ho\u0000la"})
        assert search.status_code == 422
        reply = await admin.post(
            f"/api/conversations/{CONTACT}/messages",
            json={"template": {"name": "hola", "variables": {"1": "x\u0000"}}},
        )
        assert reply.status_code == 422

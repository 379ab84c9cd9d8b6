"""A person at the inbox, in a real browser, on the real stack (`hilo up`, see conftest.py).

Each wait is a bounded poll for a marker on the page (Playwright's `expect`), never a sleep.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from hilo import registry
from hilo.testing import eventually
from tests.web.conftest import ADMIN, AGENT, Stack, axe_violations, playwright_api, screenshot

pytestmark = pytest.mark.timeout(600)
expect = playwright_api.expect

TEXT_CONTACT = "+34611000001"
VOICE_CONTACT = "+34611000002"
CALL_CONTACT = "+34611000003"
LIVE_CONTACT = "+34611000004"
SLOW = 120_000  # ms: the stack shares two cores with the rest of the suite
DESKTOP = {"width": 1280, "height": 860}
expect.set_options(timeout=SLOW)


async def sign_in(page: Any, stack: Stack, who: tuple[str, str] = ADMIN) -> None:
    await page.goto(stack.url + "/")
    await page.fill("#email", who[0])
    await page.fill("#password", who[1])
    await page.click("form.stack button[type=submit]")
    await expect(page.locator("#conversation-list")).to_be_visible()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Any, stack: Stack) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(SLOW)
    opened = await context.new_page()
    yield opened
    await context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def conversations(stack: Stack) -> Stack:
    """The customers of the issue: a text conversation that books a meeting, a voice note,
    and a finished call."""
    for text in ("Quiero agendar una reunión", "El viernes a las 10", "Revisión del proyecto"):
        await stack.say(TEXT_CONTACT, text)
    await stack.voice_note(
        VOICE_CONTACT, "Hello, I need a quote for a new website, please call me back tomorrow"
    )
    await stack.hilo(
        "simulate", "call", "--to", CALL_CONTACT, "--summary", "The customer wants a cleaning"
    )
    return stack


async def reload_until_visible(page: Any, locator: Any) -> None:
    """For pages that are not live: reload until the read model has caught up (bounded)."""

    async def shown() -> bool:
        await page.reload()
        return bool(await locator.count())

    await eventually(shown, timeout=SLOW / 1000, interval=0.5)


async def accessible(page: Any, where: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{where}: {json.dumps(violations, indent=1)}"


async def test_nothing_is_visible_before_signing_in(page: Any, stack: Stack) -> None:
    await page.goto(stack.url + "/")
    await expect(page.locator("#email")).to_be_visible()
    assert await page.locator("#conversation-list").count() == 0
    await accessible(page, "sign-in")
    await screenshot(page, "sign-in")
    for path in ("/tasks", "/calendar", "/analytics", f"/conversations/{TEXT_CONTACT}"):
        await page.goto(stack.url + path)
        await expect(page.locator("#email")).to_be_visible()
    await page.fill("#email", ADMIN[0])
    await page.fill("#password", "not the password")
    await page.click("form.stack button[type=submit]")
    await expect(page.locator("#login-error")).to_have_text("Wrong e-mail or password.")
    assert await page.locator("#conversation-list").count() == 0


async def test_the_list_shows_conversations_and_new_ones_arrive_live(
    page: Any, conversations: Stack
) -> None:
    stack = conversations
    await sign_in(page, stack)
    listed = page.locator("#conversation-list li.conv")
    for contact in (TEXT_CONTACT, VOICE_CONTACT, CALL_CONTACT):
        await expect(page.locator(f'#conversation-list [data-contact="{contact}"]')).to_be_visible()
    # A mark on this very document: a reload would lose it.
    await page.evaluate("window.__sameDocument = true")
    await stack.say(LIVE_CONTACT, "Hola, ¿abrís el sábado por la mañana?")
    arrived = page.locator(f'#conversation-list [data-contact="{LIVE_CONTACT}"]')
    await expect(arrived).to_be_visible()
    await expect(listed.first).to_have_attribute("data-contact", LIVE_CONTACT)  # newest first
    await expect(arrived).to_contain_text("1 unread")
    assert await page.evaluate("window.__sameDocument === true")
    await expect(page.locator("#live-state")).to_have_text("Live")
    await accessible(page, "conversation list")
    await screenshot(page, "inbox")

    await page.fill("#q", "sábado")
    await expect(listed).to_have_count(1)
    await expect(listed.first).to_have_attribute("data-contact", LIVE_CONTACT)
    await page.fill("#q", "")
    await expect(listed).to_have_count(4)


async def test_a_voice_note_shows_its_transcript_and_the_analysis(
    page: Any, conversations: Stack
) -> None:
    stack = conversations
    await sign_in(page, stack)
    await page.click(f'#conversation-list [data-contact="{VOICE_CONTACT}"] a')
    await expect(page.locator("#conv-title")).to_be_visible()
    note = page.locator("#timeline-items .voice-note audio")
    await expect(note).to_have_count(1)
    # The transcript and the analysis arrive live if the page was opened before them.
    await expect(page.locator(".transcript-text")).to_contain_text(re.compile("quote", re.I))
    await expect(page.locator("#analysis-summary")).to_contain_text(re.compile("quote", re.I))
    await expect(page.locator("#analysis-intent")).not_to_have_text("—")
    # The player's source is served by Hilo itself, to a signed-in person.
    source = await note.get_attribute("src")
    played = await page.request.get(stack.url + source)
    assert played.status == 200 and played.headers["content-type"].startswith("audio/")
    # Opened means read.
    await expect(
        page.locator(f'#conversation-list [data-contact="{VOICE_CONTACT}"]')
    ).not_to_contain_text("unread")
    await accessible(page, "conversation")
    await screenshot(page, "conversation")

    await page.goto(stack.url + f"/conversations/{CALL_CONTACT}")
    call = page.locator("#timeline-items li.k-call")
    await expect(call).to_contain_text("The customer wants a cleaning")
    transcript = call.locator("details.call-transcript")
    if await transcript.count():
        await transcript.locator("summary").click()
        await expect(transcript).to_have_attribute("open", "")


async def test_take_over_reply_close_a_task_and_hand_back(page: Any, conversations: Stack) -> None:
    stack = conversations
    router = "router" in registry.names()
    await sign_in(page, stack)
    await page.goto(stack.url + f"/conversations/{VOICE_CONTACT}")
    await page.click("#takeover")
    if router:
        await expect(page.locator("#conv-mode")).to_have_text("Person")
        await expect(page.locator("#handback")).to_be_visible()

    await page.fill("#reply-text", "Hi! I am Ana, I will send you the quote today.")
    await page.click("#send")
    mine = page.locator("#timeline-items li.outbound", has_text="I will send you the quote today")
    await expect(mine).to_have_count(1)  # at once, before the stack has it
    await expect(mine).to_contain_text("Person · ana@example.com")
    await expect(mine.locator("[data-status=sent]")).to_be_visible()  # live, from the outbox
    await expect(page.locator("#reply-text")).to_have_value("")
    shown = json.loads(await stack.hilo("conversation", "show", VOICE_CONTACT, "--json"))
    [sent] = [i for i in shown["timeline"] if "send you the quote" in (i.get("text") or "")]
    assert sent["provider"] == "outbox" and sent["status"] == "sent"
    assert sent["author"] == "human"

    task = page.locator(".side li.task").first
    title = await task.locator(".task-title strong").inner_text()
    await task.locator("button.done").click()
    await expect(page.locator(".side li.task", has_text=title)).to_contain_text("done")
    await page.goto(stack.url + "/tasks?status=done")
    await reload_until_visible(page, page.locator("li.task", has_text=title))

    await page.goto(stack.url + f"/conversations/{VOICE_CONTACT}")
    if router:
        await page.click("#handback")
        await expect(page.locator("#conv-mode")).to_have_text("Bot")
        await expect(page.locator("#takeover")).to_be_visible()
    else:
        events = await stack.hilo("events", "--type", "conversation.takeover_requested", "--json")
        assert VOICE_CONTACT in events and ADMIN[0] in events


async def test_outside_the_window_only_a_template_goes(page: Any, conversations: Stack) -> None:
    """The call's contact never wrote on WhatsApp: the reply box offers templates only."""
    stack = conversations
    await sign_in(page, stack)
    await page.goto(stack.url + f"/conversations/{CALL_CONTACT}")
    await expect(page.locator("#window-state")).to_contain_text("only a template")
    await expect(page.locator("#reply-text")).to_have_count(0)
    await page.select_option("#template", "seguimiento:es")
    await page.fill("#variable-1", "Ana")
    await page.click("#send-template")
    sent = page.locator("#timeline-items li.outbound", has_text="seguimiento")
    await expect(sent.first).to_be_visible()


async def test_tasks_calendar_and_analytics_pages(page: Any, conversations: Stack) -> None:
    stack = conversations
    await sign_in(page, stack)
    await page.goto(stack.url + "/tasks")
    await expect(page.locator("h1")).to_have_text("Tasks")
    await accessible(page, "tasks")
    await screenshot(page, "tasks")

    # The meeting "el viernes a las 10" lands on a Friday of the week view.
    shown = json.loads(await stack.hilo("conversation", "show", TEXT_CONTACT, "--json"))
    [meeting] = [i for i in shown["timeline"] if i.get("kind") == "calendar_event"]
    await page.goto(stack.url + f"/calendar?week={meeting['start'][:10]}")
    friday = page.locator(".week > li").nth(4)
    await expect(friday.locator(".event")).to_contain_text("10:00")
    await expect(page.locator("#ics-link")).to_have_attribute(
        "href", re.compile(r"/calendar/default\.ics$")
    )
    await accessible(page, "calendar")
    await screenshot(page, "calendar")

    # The figures are the store's: every inbound message (WhatsApp, and what the contact said
    # in calls), voice note and call in it.
    stored = [json.loads(line) for line in (await stack.hilo("events", "--json")).splitlines()]
    inbound = [e for e in stored if e["type"] == "message.received"]
    voice = [e for e in inbound if e["data"].get("kind") == "audio"]
    calls = [e for e in stored if e["type"] == "call.ended"]
    assert len(inbound) >= 5 and len(voice) == 1 and len(calls) == 1
    said = [t for c in calls for t in c["data"].get("transcript", []) if t.get("role") == "user"]
    await page.goto(stack.url + "/analytics")
    await expect(page.locator("#fig-messages-in")).to_have_text(str(len(inbound) + len(said)))
    await expect(page.locator("#fig-calls")).to_have_text(str(len(calls)))
    await expect(page.locator("#fig-voice-notes")).to_have_text(str(len(voice)))
    await expect(page.locator("#fig-tasks-done")).not_to_have_text("0")
    await expect(page.locator("canvas#chart-messages")).to_be_visible()
    await accessible(page, "analytics")
    await screenshot(page, "analytics")


async def test_spanish_on_a_phone(browser: Any, conversations: Stack) -> None:
    stack = conversations
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, locale="es-ES", is_mobile=True, has_touch=True
    )
    context.set_default_timeout(SLOW)
    page = await context.new_page()
    try:
        await page.goto(stack.url + "/")
        await expect(page.locator("button[type=submit]")).to_have_text("Iniciar sesión")
        await sign_in(page, stack)
        await expect(page.locator("#list-title")).to_have_text("Conversaciones")
        await accessible(page, "phone list")
        await page.click(f'#conversation-list [data-contact="{TEXT_CONTACT}"] a')
        await expect(page.locator("#conversation-list")).to_be_hidden()
        await expect(page.locator(".back")).to_be_visible()
        await expect(page.locator("#reply-text")).to_be_visible()
        await accessible(page, "phone conversation")
        await screenshot(page, "phone-conversation")
        await page.click("nav.languages a[lang=en]")
        await expect(page.locator("#takeover, #handback")).to_have_text(
            re.compile("Take over|Hand back")
        )
    finally:
        await context.close()


async def test_keyboard_reaches_the_reply(page: Any, conversations: Stack) -> None:
    stack = conversations
    await sign_in(page, stack)
    await page.goto(stack.url + f"/conversations/{TEXT_CONTACT}")
    for _ in range(60):
        await page.keyboard.press("Tab")
        if (
            await page.evaluate("document.activeElement && document.activeElement.id")
            == "reply-text"
        ):
            break
    else:
        raise AssertionError("Tab never reached the reply box")


async def test_an_agent_may_not_see_analytics(browser: Any, conversations: Stack) -> None:
    stack = conversations
    context = await browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(SLOW)
    page = await context.new_page()
    try:
        await sign_in(page, stack, AGENT)
        await page.goto(stack.url + "/analytics")
        await expect(page.locator("p.error[role=alert]")).to_contain_text("admin")
    finally:
        await context.close()


async def test_a_refused_reply_shows_why(page: Any, conversations: Stack) -> None:
    """The contact opts out while the page is open: the send is refused, with the reason."""
    stack = conversations
    await sign_in(page, stack)
    await page.goto(stack.url + f"/conversations/{LIVE_CONTACT}")
    await expect(page.locator("#reply-text")).to_be_visible()
    await stack.say(LIVE_CONTACT, "BAJA")
    await expect(page.locator("#window-state")).to_contain_text("Opted out")  # live
    await page.fill("#reply-text", "¿Seguro que no quieres más mensajes?")
    await page.click("#send")
    await expect(page.locator("#refusal")).to_contain_text("opted out")
    refused = page.locator("#timeline-items li.outbound", has_text="Seguro que no quieres")
    assert await refused.count() == 0


async def test_bad_addresses_say_what_is_wrong_and_sign_out_ends_it(
    page: Any, conversations: Stack
) -> None:
    stack = conversations
    await sign_in(page, stack)
    missing = await page.goto(stack.url + "/conversations/+34699999999")
    assert missing is not None and missing.status == 404
    await expect(page.locator("#page-error")).to_contain_text("+34699999999")
    bad = await page.goto(stack.url + "/calendar?week=next-tuesday")
    assert bad is not None and bad.status == 422
    await expect(page.locator("#page-error")).to_contain_text("next-tuesday")
    await accessible(page, "error page")
    await page.click("button:has-text('Sign out')")
    await expect(page.locator("#email")).to_be_visible()
    await page.goto(stack.url + "/tasks")
    await expect(page.locator("#email")).to_be_visible()


async def test_without_javascript_a_person_still_signs_in_and_answers(
    browser: Any, conversations: Stack
) -> None:
    stack = conversations
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", java_script_enabled=False)
    context.set_default_timeout(SLOW)
    page = await context.new_page()
    try:
        await sign_in(page, stack)
        await page.goto(stack.url + f"/conversations/{TEXT_CONTACT}")
        await page.fill("#reply-text", "Answered from a page without scripts")
        await page.click("#send")
        await expect(page).to_have_url(re.compile(re.escape(TEXT_CONTACT) + "$"))
        sent = page.locator("#timeline-items li.outbound", has_text="without scripts")
        await reload_until_visible(page, sent)
    finally:
        await context.close()

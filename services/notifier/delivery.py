"""From reply.ready to one WhatsApp message: rules, the outbox row, the provider call, the event.

The order of a conversation is the order of its rows in ``notifier_outbox``:
handling any event of a conversation first settles every earlier reply still
open there, so a later reply never overtakes an earlier one, even if the bus
hands them back in another order after a restart. A reply that must wait
raises :class:`RetryLater`; the consumer retries the event in place after its
back-off, holding the conversation's later events behind it.

Exactly once: the row is written (state ``sending``, attempt counted) before
the provider call and the provider's id after it. A row found in ``sending``
means an earlier call's outcome is unknown (a crash, a read timeout): Twilio
is asked whether the message exists before anything is sent again; Meta has no
lookup, so by default the reply is recorded as failed rather than risk a
double message (``NOTIFIER_META_UNCERTAIN=resend`` chooses the other side).
The outcome (sent, failed, blocked) is marked and written to the shared outbox
(hilo/outbox.py) in one transaction, so it reaches the bus exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from hilo.outbox import Outbox, Transaction
from schemas import (
    ContactOptedIn,
    ContactOptedOut,
    Event,
    MessageBlocked,
    MessageFailed,
    MessageMarkedRead,
    MessageReceived,
    MessageSent,
    ReplyReady,
    derived_id,
    utc_now,
)
from services.notifier import store
from services.notifier.channels import (
    Channel,
    MetaChannel,
    OutboxChannel,
    Outgoing,
    ProviderError,
    TwilioChannel,
)
from services.notifier.pacing import Pacer
from services.notifier.policy import (
    ChannelName,
    OptKeywords,
    Template,
    choose_template,
    outbox_message_id,
    window_open,
)
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """The conversation's oldest open reply must be tried again after the back-off."""


def masked(number: str) -> str:
    """Enough of a phone number to tell conversations apart in logs, not to identify anyone."""
    return f"…{number[-4:]}" if len(number) > 4 else "…"


class Notifier:
    def __init__(self, settings: NotifierSettings, db: asyncpg.Pool, events: Outbox) -> None:
        self.settings = settings
        self.db = db
        # What the notifier tells the bus (outcomes, opt changes) goes through the shared
        # transactional outbox, in the transaction that records it.
        self.events = events
        self.pacer = Pacer(settings.notifier_rate_per_second)
        self.keywords = OptKeywords.build(
            settings.notifier_opt_out_keywords_es,
            settings.notifier_opt_out_keywords_en,
            settings.notifier_opt_in_keywords_es,
            settings.notifier_opt_in_keywords_en,
        )
        self.outbox = OutboxChannel()
        self.twilio = TwilioChannel(settings) if settings.twilio_configured else None
        self.meta = MetaChannel(settings) if settings.meta_configured else None

    async def close(self) -> None:
        for channel in (self.twilio, self.meta):
            if channel is not None:
                await channel.close()

    # --- events ------------------------------------------------------------------------

    async def on_reply(self, reply: ReplyReady) -> None:
        await self.drain(reply.conversation, reply)

    async def on_message(self, message: MessageReceived) -> None:
        await store.record_inbound(self.db, message)
        found = self.keywords.match(message.text) if message.kind == "text" else None
        if found is not None:
            change, language, keyword = found
            opted_out = change == "opt_out"
            async with self.events.transaction() as tx:
                if await store.apply_opt_change(tx.conn, message, opted_out, language):
                    await self._confirm_opt_change(tx, message, opted_out, language, keyword)
        await self.drain(message.conversation)

    async def _confirm_opt_change(
        self,
        tx: Transaction,
        message: MessageReceived,
        opted_out: bool,
        language: str,
        keyword: str,
    ) -> None:
        if opted_out:
            await tx.publish(
                message.caused(
                    ContactOptedOut,
                    "notifier.opted_out",
                    keyword=keyword,
                    message_event_id=message.event_id,
                )
            )
        else:
            await tx.publish(
                message.caused(
                    ContactOptedIn,
                    "notifier.opted_in",
                    keyword=keyword,
                    message_event_id=message.event_id,
                )
            )
        s = self.settings
        if opted_out:
            text = (
                s.notifier_opt_out_confirmation_en
                if language == "en"
                else s.notifier_opt_out_confirmation_es
            )
        else:
            text = (
                s.notifier_opt_in_confirmation_en
                if language == "en"
                else s.notifier_opt_in_confirmation_es
            )
        confirmation = message.caused(
            ReplyReady,
            "notifier.opt_confirmation",
            reply_id=derived_id(message.event_id, "notifier.opt_confirmation.reply_id"),
            author="system",
            text=text,
            language=language,
            in_reply_to=(message.event_id,),
            provider=message.provider,
        )
        # The row is what lets the confirmation through the opt-out block; the published
        # reply.ready makes it part of the conversation (and comes back here as settled).
        await store.open_replies(
            tx.conn, confirmation.conversation, confirmation, bypass_opt_out=True
        )
        await tx.publish(confirmation)

    # --- the conversation's open replies, in order -------------------------------------

    async def drain(self, conversation: str, new_reply: ReplyReady | None = None) -> None:
        for row in await store.open_replies(self.db, conversation, new_reply):
            if not row.settled:
                row = await self._deliver(row)
            assert row.outcome is not None
            if isinstance(row.outcome, MessageSent):
                await self._mark_answered_read(row.reply)
            async with self.events.transaction() as tx:
                if await store.mark_published(tx.conn, row.reply.reply_id):
                    await tx.publish(row.outcome)

    async def _deliver(self, row: store.OutboxRow) -> store.OutboxRow:
        """Try the reply once (twice when a window error turns it into a template)."""
        reply = row.reply
        contact = row.contact
        channel = self._channel_for(row, contact)
        force_template = row.force_template
        if row.state == "sending" and row.attempts > 0:
            settled = await self._reconcile(row, channel)
            if settled is not None:
                return settled
        if contact is not None and contact.opted_out and not row.bypass_opt_out:
            return await self._blocked(row, "opted_out", "the contact opted out")
        for _ in range(2):
            outgoing = self._outgoing(reply, channel, contact, force_template)
            if outgoing is None:
                return await self._blocked(
                    row, "window_closed", "outside the 24-hour window and no template configured"
                )
            template_name = outgoing.template.name if outgoing.template else None
            # The turn first: a crash while waiting must not look like an unknown outcome.
            await self.pacer.wait_turn(channel.sender)
            attempt = await store.start_attempt(
                self.db, reply.reply_id, channel.name, channel.sender, template_name
            )
            try:
                provider_message_id = await channel.send(
                    outgoing, outbox_message_id(reply.reply_id)
                )
            except ProviderError as error:
                if error.verdict == "window_closed" and outgoing.template is None:
                    log.info(
                        "reply %s: window closed at the provider, trying a template", reply.reply_id
                    )
                    await store.force_template(self.db, reply.reply_id)
                    force_template = True
                    continue
                return await self._after_failure(row, channel, error, attempt)
            return await self._sent(row, channel, outgoing, provider_message_id)
        raise AssertionError("unreachable: the template attempt returns")

    async def _reconcile(self, row: store.OutboxRow, channel: Channel) -> store.OutboxRow | None:
        """An earlier attempt's outcome is unknown: settle it without a second message if we can."""
        reply = row.reply
        if isinstance(channel, TwilioChannel):
            since = row.first_attempt_at or utc_now()
            body = None if row.via_template else (reply.text or "")
            await self._let_late_answers_land(row)
            try:
                taken = await store.message_ids_of_other_replies(self.db, reply.reply_id)
                found = await channel.find_sent(reply.conversation, body, since, taken)
            except ProviderError as error:
                if error.verdict != "retry":  # e.g. credentials revoked: asking again won't help
                    return await self._failed(
                        row, channel, error.code, f"lookup failed: {error.reason}", row.attempts
                    )
                raise RetryLater(f"reply {reply.reply_id}: lookup failed ({error.code})") from error
            if found:
                log.info("reply %s: an earlier attempt had been accepted", reply.reply_id)
                template = self._template(reply, channel.name) if row.via_template else None
                sent_as = Outgoing(reply.conversation, reply.text, reply.media_url, template)
                return await self._sent(row, channel, sent_as, found)
            return None
        if isinstance(channel, MetaChannel) and self.settings.notifier_meta_uncertain == "fail":
            return await self._failed(
                row,
                channel,
                "outcome_unknown",
                "an earlier attempt may have been delivered and Meta cannot be asked;"
                " not sent again to avoid a double message",
                row.attempts,
            )
        return None

    async def _let_late_answers_land(self, row: store.OutboxRow) -> None:
        """A request that timed out may still be processed: look only once it had its time."""
        if row.last_attempt_at is None:
            return
        timeout = self.settings.notifier_request_timeout_seconds
        elapsed = (utc_now() - row.last_attempt_at).total_seconds()
        if elapsed < timeout:
            await asyncio.sleep(timeout - elapsed)

    def _channel_for(self, row: store.OutboxRow, contact: store.Contact | None) -> Channel:
        """The channel the conversation came in on; the outbox when it has no credentials."""
        name = row.channel
        if name is None:
            wanted = row.reply.provider or (contact.provider if contact else None)
            if wanted in ("twilio", "meta"):
                name = wanted
            elif wanted is None:
                name = "twilio" if self.twilio else "meta" if self.meta else "outbox"
            else:  # the simulator and the outbox itself
                name = "outbox"
        if name == "twilio" and self.twilio is not None:
            return self.twilio
        if name == "meta" and self.meta is not None:
            return self.meta
        return self.outbox

    def _outgoing(
        self,
        reply: ReplyReady,
        channel: Channel,
        contact: store.Contact | None,
        force_template: bool,
    ) -> Outgoing | None:
        """The message WhatsApp allows now: free-form inside the window, else a template."""
        last_inbound_at = contact.last_inbound_at if contact else None
        free_form = bool(reply.text or reply.media_url)
        if free_form and not force_template and window_open(last_inbound_at, utc_now()):
            return Outgoing(reply.conversation, reply.text, reply.media_url, None, reply.choices)
        template = self._template(reply, channel.name)
        if template is None:
            return None
        return Outgoing(reply.conversation, None, None, template)

    def _template(self, reply: ReplyReady, channel: ChannelName) -> Template | None:
        s = self.settings
        default = (
            s.notifier_meta_template_name
            if channel == "meta"
            else s.notifier_twilio_template_sid
            if channel == "twilio"
            else s.notifier_twilio_template_sid or s.notifier_meta_template_name
        )
        return choose_template(reply, channel, default, s.notifier_meta_template_language)

    # --- outcomes ----------------------------------------------------------------------

    async def _after_failure(
        self, row: store.OutboxRow, channel: Channel, error: ProviderError, attempt: int
    ) -> store.OutboxRow:
        reply = row.reply
        if error.verdict == "window_closed":
            return await self._blocked(row, "window_closed", error.reason)
        if error.verdict == "opted_out":
            return await self._blocked(row, "opted_out", error.reason)
        if error.verdict == "retry":
            if error.uncertain and isinstance(channel, MetaChannel):
                if self.settings.notifier_meta_uncertain == "fail":
                    return await self._failed(
                        row,
                        channel,
                        "outcome_unknown",
                        f"{error.reason}; Meta may have accepted it and cannot be asked,"
                        " so it is not sent again",
                        attempt,
                    )
                error.uncertain = False  # resend policy: treat as surely not sent
            if attempt < self.settings.notifier_max_attempts:
                await store.note_failure(
                    self.db, reply.reply_id, error.code, error.reason, uncertain=error.uncertain
                )
                log.warning(
                    "reply %s to %s: attempt %d failed (%s), will retry",
                    reply.reply_id,
                    masked(reply.conversation),
                    attempt,
                    error.code,
                )
                raise RetryLater(f"reply {reply.reply_id}: {error.code}")
        return await self._failed(row, channel, error.code, error.reason, attempt)

    async def _sent(
        self, row: store.OutboxRow, channel: Channel, outgoing: Outgoing, provider_message_id: str
    ) -> store.OutboxRow:
        reply = row.reply
        template = outgoing.template
        event = reply.caused(
            MessageSent,
            "notifier.sent",
            reply_id=reply.reply_id,
            provider=channel.name,
            provider_message_id=provider_message_id,
            text=reply.text,
            media_url=reply.media_url if template is None else None,
            via_template=template.name if template else None,
            sent_at=utc_now(),
        )
        log.info(
            "reply %s to %s sent via %s", reply.reply_id, masked(reply.conversation), channel.name
        )
        return await self._settle(row, "sent", event, provider_message_id=provider_message_id)

    async def _failed(
        self, row: store.OutboxRow, channel: Channel, code: str | None, reason: str, attempts: int
    ) -> store.OutboxRow:
        reply = row.reply
        event = reply.caused(
            MessageFailed,
            "notifier.failed",
            reply_id=reply.reply_id,
            provider=channel.name,
            error_code=code,
            reason=reason,
            attempts=max(attempts, 1),
        )
        log.warning("reply %s to %s failed: %s", reply.reply_id, masked(reply.conversation), code)
        return await self._settle(row, "failed", event, error_code=code, error_reason=reason)

    async def _blocked(self, row: store.OutboxRow, reason: str, detail: str) -> store.OutboxRow:
        reply = row.reply
        event = reply.caused(
            MessageBlocked,
            "notifier.blocked",
            reply_id=reply.reply_id,
            reason=reason,
            detail=detail,
        )
        log.info("reply %s to %s blocked: %s", reply.reply_id, masked(reply.conversation), reason)
        return await self._settle(row, "blocked", event, error_code=reason, error_reason=detail)

    async def _settle(
        self, row: store.OutboxRow, state: str, event: Event, **details: Any
    ) -> store.OutboxRow:
        return await store.settle(self.db, row.reply.reply_id, state, event, **details)

    async def _mark_answered_read(self, reply: ReplyReady) -> None:
        """Blue ticks on the Meta messages this reply answered; best effort, never retried."""
        if self.meta is None or not reply.in_reply_to:
            return
        for message_event_id, wamid in await store.unread_meta_messages(self.db, reply.in_reply_to):
            try:
                await self.meta.mark_read(wamid)
            except ProviderError as error:
                log.warning("mark-as-read failed for %s: %s", message_event_id, error.code)
                continue
            async with self.events.transaction() as tx:
                await store.mark_read(tx.conn, message_event_id)
                await tx.publish(
                    reply.caused(
                        MessageMarkedRead,
                        f"notifier.marked_read:{message_event_id}",
                        provider="meta",
                        provider_message_id=wamid,
                        marked_at=utc_now(),
                    )
                )

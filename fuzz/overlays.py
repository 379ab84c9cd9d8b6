"""What a service's OpenAPI document leaves out, added for the fuzzer.

Ingest's webhook routes read their raw bodies (a signature covers the exact bytes), so
FastAPI documents no request body and no query for them, and schemathesis would send them
nothing. The overlay describes each body as its provider sends it (the fields named in
services/ingest/twilio_forms.py, meta_updates.py and elevenlabs_calls.py); schemathesis then
generates both conforming bodies and ones that break the description.
"""

from __future__ import annotations

import copy
from typing import Any

Schema = dict[str, Any]

_TEXT = {"type": "string"}
_NUMBER_TEXT = {"type": "string", "pattern": "^whatsapp:\\+[1-9][0-9]{7,14}$"}

TWILIO_MESSAGE: Schema = {
    "type": "object",
    "properties": {
        "MessageSid": {"type": "string", "pattern": "^SM[0-9a-f]{32}$"},
        "AccountSid": _TEXT,
        "From": _NUMBER_TEXT,
        "To": _NUMBER_TEXT,
        "Body": _TEXT,
        "NumMedia": {"type": "string", "enum": ["0", "1", "2"]},
        "MediaUrl0": {"type": "string", "format": "uri"},
        "MediaContentType0": {"type": "string", "enum": ["audio/ogg", "image/jpeg", "x/y"]},
        "ProfileName": _TEXT,
        "WaId": _TEXT,
        "MessageType": _TEXT,
        "ButtonPayload": _TEXT,
        "Latitude": _TEXT,
        "Longitude": _TEXT,
    },
    "required": ["MessageSid", "From", "Body"],
}

TWILIO_STATUS: Schema = {
    "type": "object",
    "properties": {
        "MessageSid": {"type": "string", "pattern": "^SM[0-9a-f]{32}$"},
        "MessageStatus": {
            "type": "string",
            "enum": ["queued", "sent", "delivered", "read", "failed", "received", "odd"],
        },
        "To": _NUMBER_TEXT,
        "From": _NUMBER_TEXT,
        "ErrorCode": _TEXT,
    },
    "required": ["MessageSid", "MessageStatus", "To"],
}

_META_MESSAGE: Schema = {
    "type": "object",
    "properties": {
        "from": {"type": "string", "enum": ["34600111222", "573001112233", "0", "+1"]},
        "id": _TEXT,
        "timestamp": _TEXT,
        "type": {"type": "string", "enum": ["text", "audio", "image", "location", "button", "x"]},
        "text": {"type": "object", "properties": {"body": _TEXT}},
        "audio": {"type": "object", "properties": {"id": _TEXT, "mime_type": _TEXT}},
        "location": {
            "type": "object",
            "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
        },
    },
    "required": ["from", "id", "type"],
}

_MESSAGES: Schema = {"type": "array", "maxItems": 3, "items": _META_MESSAGE}

META_UPDATE: Schema = {
    "type": "object",
    "properties": {
        "object": {"type": "string", "enum": ["whatsapp_business_account"]},
        "entry": {
            "type": "array",
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "id": _TEXT,
                    "changes": {
                        "type": "array",
                        "maxItems": 2,
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string", "enum": ["messages"]},
                                "value": {
                                    "type": "object",
                                    "properties": {
                                        "messages": {
                                            "type": "array",
                                            "maxItems": 3,
                                            "items": _META_MESSAGE,
                                        },
                                        "statuses": {"type": "array", "items": {"type": "object"}},
                                        "contacts": {"type": "array", "items": {"type": "object"}},
                                    },
                                },
                            },
                            "required": ["field", "value"],
                        },
                    },
                },
                "required": ["changes"],
            },
        },
    },
    "required": ["object", "entry"],
}

ELEVENLABS_CALL: Schema = {
    "type": "object",
    "properties": {
        "type": {
            "type": "string",
            "enum": ["post_call_transcription", "post_call_audio", "call_initiation_failure"],
        },
        "event_timestamp": {"type": "integer"},
        "data": {
            "type": "object",
            "properties": {
                "agent_id": _TEXT,
                "conversation_id": _TEXT,
                "full_audio": _TEXT,
                "transcript": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "role": {"type": "string", "enum": ["user", "agent"]},
                            "message": _TEXT,
                            "time_in_call_secs": {"type": "number"},
                        },
                    },
                },
                "metadata": {
                    "type": "object",
                    "properties": {
                        "start_time_unix_secs": {"type": "integer"},
                        "call_duration_secs": {"type": "number"},
                        "phone_call": {
                            "type": "object",
                            "properties": {
                                "external_number": {
                                    "type": "string",
                                    "pattern": "^\\+[1-9][0-9]{7,14}$",
                                }
                            },
                        },
                    },
                },
                "analysis": {"type": "object"},
            },
            "required": ["conversation_id"],
        },
    },
    "required": ["type", "data"],
}


def _body(media_type: str, schema: Schema) -> Schema:
    return {"required": True, "content": {media_type: {"schema": schema}}}


def _query(*names: str) -> list[Schema]:
    return [{"name": n, "in": "query", "required": False, "schema": _TEXT} for n in names]


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# service → path → method → what to set on that operation.
OVERLAYS: dict[str, dict[str, dict[str, Schema]]] = {
    "ingest": {
        "/webhooks/twilio/whatsapp": {"post": {"requestBody": _body(FORM, TWILIO_MESSAGE)}},
        "/webhooks/twilio/status": {"post": {"requestBody": _body(FORM, TWILIO_STATUS)}},
        "/webhooks/meta": {
            "get": {"parameters": _query("hub.mode", "hub.verify_token", "hub.challenge")},
            "post": {"requestBody": _body(JSON, META_UPDATE)},
        },
        "/webhooks/elevenlabs": {"post": {"requestBody": _body(JSON, ELEVENLABS_CALL)}},
    },
}


def overlaid(service: str, document: Schema) -> Schema:
    """The service's OpenAPI document with its overlay applied (a copy)."""
    result = copy.deepcopy(document)
    for path, methods in OVERLAYS.get(service, {}).items():
        for method, additions in methods.items():
            operation = result.get("paths", {}).get(path, {}).get(method)
            if operation is not None:
                operation.update(copy.deepcopy(additions))
    return result

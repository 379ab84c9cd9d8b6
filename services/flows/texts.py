"""What the flow itself says (not the flow file's questions), and the words it obeys. Pure.

Listed in the README: a contact can go back one question, start over or cancel at any
question, in Spanish or in English, whatever the flow's language. None of them is an opt-out
word of the notifier ("parar", "quit", "stop", "baja"): those unsubscribe the contact.
"""

from __future__ import annotations

from typing import Literal

from hilo.text import keyword

Command = Literal["back", "restart", "cancel", "skip"]

COMMANDS: dict[Command, frozenset[str]] = {
    "back": frozenset(
        {"atras", "volver", "anterior", "volver atras", "back", "go back", "previous"}
    ),
    "restart": frozenset(
        {
            "empezar de nuevo",
            "reiniciar",
            "de nuevo",
            "desde el principio",
            "start over",
            "restart",
            "start again",
        }
    ),
    "cancel": frozenset({"cancelar", "salir", "terminar", "cancel", "exit", "stop flow"}),
    "skip": frozenset({"saltar", "omitir", "paso", "skip", "pass", "-"}),
}

SWITCH_WORDS = frozenset({"1", "si", "cambiar", "switch", "yes", "change", "cambio"})
STAY_WORDS = frozenset({"2", "no", "seguir", "continuar", "continue", "stay", "keep going"})


def command_in(text: str | None) -> Command | None:
    said = keyword(text or "")
    if text and text.strip() == "-":
        return "skip"
    for command, words in COMMANDS.items():
        if said in words:
            return command
    return None


def switch_choice(text: str | None, reply_id: str | None) -> bool | None:
    """True: switch to the offered flow; False: continue this one; None: not an answer."""
    if reply_id in ("flows:switch", "flows:stay"):
        return reply_id == "flows:switch"
    said = keyword(text or "")
    if said in SWITCH_WORDS:
        return True
    if said in STAY_WORDS:
        return False
    return None


_TEXTS: dict[str, dict[str, str]] = {
    "invalid": {
        "es": "No he podido entender esa respuesta.",
        "en": "I couldn't read that answer.",
    },
    "invalid_email": {
        "es": "Eso no parece un correo electrónico válido.",
        "en": "That doesn't look like a valid email address.",
    },
    "not_a_number": {"es": "Necesito un número.", "en": "I need a number."},
    "not_a_date": {"es": "No he reconocido una fecha.", "en": "I couldn't read a date."},
    # Said after the reason when the question has no hint of its own.
    "not_a_date_example": {
        "es": "Por ejemplo: 15/03/2027, el viernes, mañana.",
        "en": "For example: 03/15/2027, Friday, tomorrow.",
    },
    "invalid_email_example": {
        "es": "Por ejemplo: ana@ejemplo.com",
        "en": "For example: ann@example.com",
    },
    "not_a_number_example": {"es": "Por ejemplo: 3", "en": "For example: 3"},
    "not_an_option": {
        "es": "Elige una de las opciones (su número o su nombre).",
        "en": "Please pick one of the options (its number or its name).",
    },
    "empty": {"es": "La respuesta está vacía.", "en": "The answer is empty."},
    "not_text": {
        "es": "Responde con un mensaje de texto o una nota de voz, por favor.",
        "en": "Please answer with a text message or a voice note.",
    },
    "required": {
        "es": "Esta pregunta no se puede saltar.",
        "en": "This question can't be skipped.",
    },
    "cancelled": {
        "es": "De acuerdo, lo dejamos aquí. Escribe la palabra clave cuando quieras retomarlo.",
        "en": "All right, we'll stop here. Send the keyword whenever you want to start again.",
    },
    "restart": {"es": "Empezamos de nuevo.", "en": "Let's start over."},
    "switch_offer": {
        "es": "Estás respondiendo «{current}». ¿Quieres dejarlo y empezar «{offered}»?\n"
        "1. Sí, cambiar\n2. No, seguir",
        "en": "You're answering “{current}”. Do you want to leave it and start “{offered}”?\n"
        "1. Yes, switch\n2. No, continue",
    },
    "switch_yes": {"es": "Sí, cambiar", "en": "Yes, switch"},
    "switch_no": {"es": "No, seguir", "en": "No, continue"},
    "reminder": {
        "es": "¿Sigues ahí? Nos quedamos en esta pregunta:",
        "en": "Are you still there? We stopped at this question:",
    },
    "timed_out": {
        "es": "Como no hemos tenido respuesta, cerramos este formulario. "
        "Escribe la palabra clave para empezarlo de nuevo.",
        "en": "As we haven't heard back, we've closed this form. "
        "Send the keyword to start it again.",
    },
    "waiting": {
        "es": "Un momento, estamos procesando tus respuestas.",
        "en": "One moment, we're processing your answers.",
    },
    "done": {
        "es": "¡Gracias! Hemos recibido tus respuestas.",
        "en": "Thank you! We got your answers.",
    },
    "list_button": {"es": "Opciones", "en": "Options"},
    "skip_hint": {"es": "(escribe «saltar» para omitirla)", "en": "(send “skip” to leave it out)"},
}


def example(reason: str, language: str) -> str | None:
    """A default hint for a reason, when the question brings none."""
    key = f"{reason}_example"
    return say(key, language) if key in _TEXTS else None


def say(key: str, language: str, **values: str) -> str:
    texts = _TEXTS[key]
    text = texts.get(language) or texts["es"]
    return text.format(**values) if values else text

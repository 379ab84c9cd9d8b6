"""Spanish and English for every word the pages show.

The English text is the key (as gettext does) and Spanish is its translation; a
missing translation falls back to English, and a test checks that every text the
templates ask for has its Spanish. The language is the person's choice (a cookie
set by the switcher), else the browser's first of ``es``/``en``, else Spanish.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

LANGUAGES = ("es", "en")
DEFAULT = "es"
COOKIE = "hilo_lang"

Translate = Callable[..., str]

SPANISH: dict[str, str] = {
    # shell
    "Hilo inbox": "Bandeja de Hilo",
    "Skip to content": "Saltar al contenido",
    "Conversations": "Conversaciones",
    "Tasks": "Tareas",
    "Calendar": "Calendario",
    "Analytics": "Analítica",
    "Sign out": "Cerrar sesión",
    "Main": "Principal",
    "Language": "Idioma",
    "Signed in as {name}": "Sesión de {name}",
    "Live updates": "Actualizaciones en vivo",
    "Live": "En vivo",
    "Reconnecting…": "Reconectando…",
    # sign-in
    "Sign in": "Iniciar sesión",
    "E-mail": "Correo electrónico",
    "Password": "Contraseña",
    "Sign in to see the conversations.": "Inicia sesión para ver las conversaciones.",
    "Wrong e-mail or password.": "Correo o contraseña incorrectos.",
    "Too many failed sign-ins; try again later.": (
        "Demasiados intentos fallidos; vuelve a intentarlo más tarde."
    ),
    # list
    "Search": "Buscar",
    "Search name, number or text": "Buscar nombre, número o texto",
    "Filters": "Filtros",
    "Channel": "Canal",
    "Mode": "Modo",
    "Sentiment": "Sentimiento",
    "Any": "Cualquiera",
    "Unread only": "Solo sin leer",
    "With open tasks": "Con tareas abiertas",
    "Apply": "Aplicar",
    "Clear": "Limpiar",
    "No conversations yet.": "Aún no hay conversaciones.",
    "No conversation matches.": "Ninguna conversación coincide.",
    "More": "Más",
    "{n} unread": "{n} sin leer",
    "{n} open tasks": "{n} tareas abiertas",
    "1 open task": "1 tarea abierta",
    "Voice call": "Llamada",
    "Voice note": "Nota de voz",
    # modes
    "Bot": "Bot",
    "Voice agent": "Agente de voz",
    "Flow": "Flujo",
    "Person": "Persona",
    "Nobody (opted out)": "Nadie (baja)",
    # sentiments
    "positive": "positivo",
    "negative": "negativo",
    "neutral": "neutral",
    "urgent": "urgente",
    # conversation
    "Choose a conversation.": "Elige una conversación.",
    "Back to the list": "Volver a la lista",
    "Timeline": "Cronología",
    "Answered by": "Respondido por",
    "Routed to": "Atendido por",
    "Take over": "Tomar el control",
    "Hand back": "Devolver al bot",
    "A person answers: no automatic replies.": "Responde una persona: sin respuestas automáticas.",
    "Automatic replies are on.": "Las respuestas automáticas están activas.",
    "Opted out: no messages may be sent.": "Se dio de baja: no se pueden enviar mensajes.",
    "Window open until {time}": "Ventana abierta hasta {time}",
    "24-hour window closed: only a template may be sent.": (
        "Ventana de 24 horas cerrada: solo se puede enviar una plantilla."
    ),
    "No message from the contact yet: only a template may be sent.": (
        "El contacto aún no ha escrito: solo se puede enviar una plantilla."
    ),
    "Reply": "Responder",
    "Your reply": "Tu respuesta",
    "Send": "Enviar",
    "Template": "Plantilla",
    "Send template": "Enviar plantilla",
    "Variable {n}": "Variable {n}",
    "No templates configured (INBOX_TEMPLATES).": (
        "No hay plantillas configuradas (INBOX_TEMPLATES)."
    ),
    "Not sent: {reason}": "No enviado: {reason}",
    "Sending…": "Enviando…",
    "pending": "pendiente",
    "sent": "enviado",
    "delivered": "entregado",
    "read": "leído",
    "failed": "fallido",
    "undelivered": "no entregado",
    "blocked": "bloqueado",
    "queued": "en cola",
    "accepted": "aceptado",
    "sending": "enviando",
    "Transcript": "Transcripción",
    "Transcribing…": "Transcribiendo…",
    "Transcription failed": "Falló la transcripción",
    "Transcript expired after {n} days": "Transcripción caducada tras {n} días",
    "Audio deleted after {n} days": "Audio borrado tras {n} días",
    "Call": "Llamada",
    "Summary": "Resumen",
    "Show the transcript": "Ver la transcripción",
    "Call failed": "Llamada fallida",
    "Duration": "Duración",
    "{n} s": "{n} s",
    "Customer": "Cliente",
    "Agent": "Agente",
    "Analysis": "Análisis",
    "Intent": "Intención",
    "Entities": "Entidades",
    "Not analysed yet.": "Aún sin analizar.",
    "Calendar events": "Citas",
    "No calendar events.": "Sin citas.",
    "No tasks.": "Sin tareas.",
    "Done": "Hecha",
    "Cancel": "Cancelar",
    "Assignee": "Responsable",
    "Due": "Vence",
    "Save": "Guardar",
    "Status": "Estado",
    "open": "abierta",
    "done": "hecha",
    "cancelled": "cancelada",
    "Priority": "Prioridad",
    "Mode changed to {mode}": "Modo cambiado a {mode}",
    "Opted out ({keyword})": "Baja ({keyword})",
    "Opted in": "Alta",
    "Detected intent: {intent}": "Intención detectada: {intent}",
    "Appointment: {title}": "Cita: {title}",
    "Task: {title}": "Tarea: {title}",
    "Flow question": "Pregunta del flujo",
    "Flow answer": "Respuesta al flujo",
    "Location": "Ubicación",
    "Attachment": "Adjunto",
    "Why: {reason}": "Motivo: {reason}",
    "System": "Sistema",
    "contact": "contacto",
    # tasks page
    "All": "Todas",
    "Due before": "Vence antes de",
    "Contact": "Contacto",
    "Title": "Título",
    "Type": "Tipo",
    "Actions": "Acciones",
    "No tasks match.": "Ninguna tarea coincide.",
    "Reopen": "Reabrir",
    "Unassigned": "Sin asignar",
    # calendar page
    "Week of {date}": "Semana del {date}",
    "Previous week": "Semana anterior",
    "Next week": "Semana siguiente",
    "This week": "Esta semana",
    "Subscribe (iCalendar)": "Suscribirse (iCalendar)",
    "Copy this address into your calendar app to follow the appointments.": (
        "Copia esta dirección en tu aplicación de calendario para seguir las citas."
    ),
    "Nothing this day.": "Nada este día.",
    "All day": "Todo el día",
    # analytics page
    "From": "Desde",
    "To": "Hasta",
    "Show": "Mostrar",
    "Messages in": "Mensajes recibidos",
    "Messages out": "Mensajes enviados",
    "New conversations": "Conversaciones nuevas",
    "First response (median)": "Primera respuesta (mediana)",
    "Automatic": "Automática",
    "By a person": "Por una persona",
    "Messages per day": "Mensajes por día",
    "First-response time": "Tiempo de primera respuesta",
    "Sentiment over time": "Sentimiento en el tiempo",
    "Intents": "Intenciones",
    "Tasks created": "Tareas creadas",
    "Tasks done": "Tareas hechas",
    "Voice notes": "Notas de voz",
    "Failed transcriptions": "Transcripciones fallidas",
    "Calls": "Llamadas",
    "Calls continued on WhatsApp": "Llamadas continuadas por WhatsApp",
    "Replies blocked": "Respuestas bloqueadas",
    "Day": "Día",
    "In": "Entrada",
    "Out": "Salida",
    "Count": "Cantidad",
    "Median (s)": "Mediana (s)",
    "90th percentile (s)": "Percentil 90 (s)",
    "Answered": "Respondidas",
    "No data in this range.": "Sin datos en este periodo.",
    "Show the figures as a table": "Ver las cifras en una tabla",
    "The start must not be after the end.": "El inicio no puede ser posterior al final.",
    "Something went wrong: {detail}": "Algo salió mal: {detail}",
    "Page not found.": "Página no encontrada.",
}

CATALOGS: dict[str, dict[str, str]] = {"es": SPANISH, "en": {}}


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The person's language: their choice, else the browser's first known one."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        primary = tag.split("-", 1)[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def translator(language: str) -> Translate:
    catalog = CATALOGS.get(language, {})

    def translate(text: str, **values: Any) -> str:
        found = catalog.get(text, text)
        return found.format(**values) if values else found

    return translate

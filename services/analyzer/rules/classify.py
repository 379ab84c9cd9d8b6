"""Sentiment and intent of a whole conversation, by the conventions of docs/ANALYSIS_DATA.md.

Only the contact's messages decide: the business's apologies and thanks are not the
contact's mood. Pure; the inputs are folded texts.
"""

from __future__ import annotations

import re

from schemas.analysis import Intent, Sentiment

# "urgent" wins whenever the contact says urgent, ASAP or that they need it today.
URGENT = re.compile(
    r"\burgente\b|\burgentes\b|\burgencia\b|\burgent\b|\burgently\b|\basap\b|\blo antes posible\b"
    r"|\bcuanto antes\b|\bde inmediato\b|\binmediatamente\b|\bright away\b|\bimmediately\b"
    r"|\bemergencia\b|\bemergency\b|\bhoy mismo\b|\bpara hoy\b|\bby today\b|\bend of (?:the )?day\b"
    r"|\b(?:pued\w+|pod\w+|can|could)\b[^.!?]{0,40}\b(?:hoy|today)\b(?! teniamos| we had)"
    r"|\b(?:necesito|necesitamos|la necesito|lo necesito|tengo que|need|needs|must)\b[^.!?]{0,40}\b(?:hoy|today)\b"
    r"|\b(?:hoy|today)\b[^.!?]{0,20}\b(?:sin falta|without fail|si o si)\b"
)
NOT_URGENT = re.compile(
    r"\b(?:not|no es|no era|nada|nothing|isn'?t|no)\s+(?:muy |very |super |that |tan )?urgent\w*"
)
# "Today" makes it urgent, except as the date of an appointment being talked about.
TODAY = re.compile(
    r"\b(?:hoy|today|tonight|this afternoon|this evening|esta noche|esta tarde|hoy mismo)\b"
)
EVENT_TODAY = re.compile(
    r"\bhoy (?:teniamos|tenemos|tengo|tenia|habiamos|hemos|era|es el dia)\b|\btoday'?s\b"
    r"|\b(?:cita|reunion|llamada|visita|demo|meeting|call|appointment|session|sesion|clase)\s+"
    r"(?:de |for |of |del dia de )?(?:hoy|today)\b"
    r"|\b(?:we|i) (?:had|have) (?:a |an |our |the )?\w+ today\b"
    # The business's own hours are information: "¿a qué hora abren hoy?", "open today?".
    r"|\b(?:abren|abris|abre|abrimos|abiertos?|cierran|cerrais|cierra|horario|open|opens|close|closes"
    r"|closing|opening)\b[^.?!\n]{0,30}\b(?:hoy|today|tonight|esta tarde|esta noche|this afternoon"
    r"|this evening)\b"
    r"|\b(?:hoy|today|tonight|esta tarde|esta noche|this afternoon|this evening)\b[^.?!\n]{0,30}"
    r"\b(?:abren|abris|abre|abiertos?|cierran|cierra|horario|open"
    r"|close|closes|closing)\b"
)
# The same failure once more ("AGAIN", "otra vez", "ya van tres veces"): with a problem, the
# contact is frustrated even when they only ask for a fix.
REPEATED = re.compile(
    r"\botra vez\b|\bde nuevo\b|\bagain\b|\buna vez mas\b|\bya van \w+ veces\b|\bevery single\b"
    r"|\bcada vez que\b|\btodos los dias\b|\bsiempre (?:lo mismo|pasa|igual)\b|\bkeeps? happening\b"
)
FRUSTRATED = re.compile(
    r"\binaceptable\b|\bharta\b|\bharto\b|\bhartos\b|\bmolest[oa]s?\b|\benfadad[oa]\b|\bindignad[oa]\b"
    r"|\bverguenza\b|\bpesimo\b|\bpesima\b|\bfatal\b|\bhorrible\b|\bdecepcion\w*\b|\bdecepcionad[oa]\b"
    r"|\bsegunda vez\b|\btercera vez\b|\bqueja\b|\breclamo\b|\breclamacion\b|\bnadie me\b"
    r"|\bcansad[oa] de\b|\bya no se que hacer\b|\bno es normal\b|\bmuy mal\b|\bmal servicio\b"
    r"|\bfrustrat\w*\b|\bunacceptable\b|\bdisappoint\w*\b|\bannoy\w*\b|\bfurious\b|\bangry\b"
    r"|\bexpected better\b|\bnobody (?:has )?(?:replied|answered|called)\b|\bawful\b|\bterrible\b"
    r"|\bworst\b|\bridiculous\b|\bfed up\b|\bsecond time\b|\bthird time\b|\bstill (?:hasn't|haven't|not)\b"
    r"|\bno one (?:has )?(?:replied|answered)\b|\bpoor service\b|[😤😡😠🤬]"
    r"|\bdriving me (?:crazy|mad|nuts)\b|\bme (?:esta )?volviendo loc[oa]\b|\bfed up\b"
)
# A grievance about something that already went wrong (complaint, not a request for help).
GRIEVANCE = re.compile(
    r"\bno aparecio\b|\bno vino\b|\bno llego\b|\bno ha llegado\b|\bnunca llego\b|\bsigue sin llegar\b"
    r"|\bme cobraron\b|\bme han cobrado\b|\bcobro doble\b|\bos estuve esperando\b|\bestuve esperando\b"
    r"|\bnadie (?:me|nos) (?:aviso|contesto|contesta|llamo|respondio|responde|hace caso|dijo)\b|\b(?:me|nos) (?:cobraron|cobro|cobrasteis|cobraste)\b|\bcobr\w+ (?:dos veces|de mas|doble)\b|\bverguenza\b|\bquiero una explicacion\b|\binaceptable\b"
    r"|\bqueja\b|\breclamacion\b|\bpesimo servicio\b|\bmal servicio\b|\bsupposed to (?:arrive|be|come)\b"
    r"|\bstill hasn't (?:arrived|turned up|come)\b|\bnever (?:arrived|came|showed)\b|\bdidn't show\b"
    r"|\bno-show\b|\bcharged (?:me )?twice\b|\bovercharged\b|\bnobody has replied\b|\bexpected better\b"
    r"|\bunacceptable\b|\bcomplain\w*\b|\bwant an explanation\b|\bwaited all\b"
    r"|\bdevuelvan el dinero\b|\bdevolucion del dinero\b|\breembolso\b|\bllego (?:roto|rota|danad[oa]|mal)\b"
    r"|\brefund\b|\bmoney back\b|\barrived (?:broken|damaged)\b|\bwrong (?:item|order)\b"
    # A threat to leave or to want the money back.
    r"|\bsi (?:esto )?sigue asi\b|\bme doy de baja\b|\bme cambio de (?:compania|empresa|proveedor)\b"
    r"|\bcancel\w* (?:la|mi|el) (?:suscripcion|membresia|cuenta|contrato|servicio|plan)\b"
    r"|\bdevuelvan (?:el|mi) dinero\b|\bquiero (?:mi dinero|el reembolso|que me devuelvan)\b"
    r"|\b(?:i'?ll|i will|going to|gonna) (?:cancel|leave|switch)\b|\bswitch(?:ing)? providers\b"
)
# Something the business must fix now.
PROBLEM = re.compile(
    r"\bno funciona\b|\bno me funciona\b|\bdejo de funcionar\b|\bno puedo (?:entrar|acceder|pagar"
    r"|facturar|iniciar|ingresar|abrir|descargar|conectar|usar|ver|enviar|imprimir|cargar|subir"
    r"|registrarme|loguearme|recuperar|activar|instalar|actualizar|acceder)\b|\bno me deja\b"
    r"|\bno me llega\w*\b|\bno recibo\b|\bno me aparece\b|\bno aparece\b|\bno se (?:puede|carga|abre)\b"
    r"|\bolvide (?:mi|la) contrasena\b|\brestablecer (?:mi|la) contrasena\b|\bforgot my password\b"
    r"|\breset my password\b|\bnot (?:receiving|loading|showing|syncing)\b|\bisn'?t (?:loading|showing)\b"
    r"|\bdoesn'?t (?:load|open|show|sync|connect|turn on)\b|\bkeeps? (?:crashing|freezing|failing)\b"
    r"|\bno (?:enfria|calienta|prende|sirve|anda|jala|imprime|conecta|sincroniza)\b"
    r"|\bdejo de (?:enfriar|calentar|prender|encender|andar|servir|cargar|responder|imprimir|sonar"
    r"|conectar|sincronizar|jalar|arrancar)\b|\bno tengo (?:internet|luz|agua|senal|conexion|servicio|wifi)\b"
    r"|\bkeeps? (?:jamming|leaking|tripping|beeping|dropping|breaking|overheating)\b"
    r"|\bfroze\b|\bfrozen\b|\bfreezes\b|\bse (?:colgo|trabo|tildo)\b"
    r"|\bburst\b|\bflood\w*\b|\bse (?:revento|inundo|salio el agua)\b|\binundad[oa]\b"
    r"|\b(?:arreglar|reparar|arreglen|reparen|arreglarme|repararme)\b|\bhace un ruido\b|\bmakes? a (?:weird |strange |loud )?noise\b"
    r"|\b(?:can|could) (?:someone|somebody|you|anyone) (?:take a look|look at|check on|check) (?:it|this|that)\b"
    r"|\b(?:venir|mandar|enviar|mandarme|enviarme)\s+(?:a |un |una |el |al )?(?:revisar|arreglar|reparar|tecnico)"
    r"|\bsend (?:someone|a technician|a tech)\b|\bcome (?:and |to )?(?:fix|look at|check|repair)\b"
    r"|\bno dura\b|\bse (?:descarga|apaga|calienta|traba|congela|reinicia|desconecta)\w*\b|\bdefectuos[oa]\b"
    r"|\bgarantia\b|\bwarranty\b|\bkeeps? (?:turning off|restarting|disconnecting)\b|\bdrains?\b"
    r"|\bleak\w*\b|\bgotera\b|\bfuga\b|\b(?:been|went|is|are|has been) down\b|\bse (?:cayo|fue) (?:el|la)\b"
    r"|\bno me (?:sincroniza|carga|abre|anda|sirve|conecta|imprime|arranca|enciende)\b"
    r"|\bsin (?:internet|luz|agua|servicio|senal|conexion)\b|\bno hay (?:internet|luz|agua|senal|conexion)\b"
    r"|\bwithout (?:internet|power|water|service)\b|\bno (?:internet|power|signal|connection)\b"
    r"|\bse cierra\b|\bse cae\b|\bse bloque\w*\b|\bbloquead[oa]\b|\berror\b|\bfalla\b|\bfallando\b"
    r"|\baveria\b|\broto\b|\brota\b|\bno carga\b|\bno enciende\b|\bno arranca\b|\bno responde\b"
    r"|\bstopped working\b|\bnot working\b|\bdoesn'?t work\b|\bisn'?t working\b|\bwon'?t (?:load|start"
    r"|open|turn on|connect|go past|let me)\b|\bcan'?t (?:log ?in|access|take|pay|sign|connect|open"
    r"|login|use|print|send)\b|\bcrash\w*\b|\bbroken\b|\bis down\b|\bbug\b|\bglitch\b|\bissue with\b"
    r"|\bproblem with\b|\bproblema con\b|\bhelp me fix\b|\bfix (?:this|it)\b|\blocked out\b"
    r"|\b(?:esta|estan|se ha) caid[oa]s?\b|\bcaid[oa] (?:la|el) (?:pagina|web|sistema|servidor)\b"
    r"|\bno (?:pueden|podemos|puede) (?:entrar|acceder|reservar|pagar|comprar|iniciar|ver|usar)\b"
    r"|\bkeeps? (?:logging|kicking|signing|throwing) (?:me|us) out\b|\blogs? (?:me|us) out\b"
    r"|\bme (?:saca|cierra la sesion)\b|\b(?:can'?t|cannot) (?:get|log|sign)\b"
)
QUOTE = re.compile(
    r"\bprecios?\b|\bcuanto (?:cuesta|cuestan|costaria|costarian|vale|valen|sale|saldria|cobran"
    r"|cobrais|me cobrarias)\b|\bcotizacion\w*\b|\bcotizar\b|\bpresupuesto\b|\bpropuesta\b|\btarifa\w*\b"
    r"|\bhow much\b|\bquote\b|\bquotation\b|\bpricing\b|\bprices?\b|\bproposal\b|\bestimate\b"
    r"|\brates\b|\bcost\b|\bcosts\b|\bwhat (?:would|do|does|will) (?:you|it) charge\b|\bcharge for\b"
    r"|\bcuanto (?:me |nos )?cobra\w*\b"
)
PROPOSAL = re.compile(r"\bpropuesta\b|\bproposal\b")
QUESTION = re.compile(
    r"\?|\b(?:a que hora|que horario|horario|cuando abren|abren|cierran|tienen|hacen|aceptan|donde"
    r"|do you|are you|is there|can i|what time|when do|where is|how do|opening hours)\b"
)
# Thanks or praise as the point of the conversation, not a polite "gracias".
PRAISE = re.compile(
    r"\bdar(?:os|les|te)? las gracias\b|\bagradec\w*\b|\bpreciosa\b|\bprecioso\b|\bgenial trabajo\b"
    r"|\bbuen trabajo\b|\bexcelente\b|\bincreible\b|\bme encanta\w*\b|\bnos encanta\w*\b|\bencantad[oa]s?\b"
    r"|\bmaravillos[oa]\b|\bfelicidades\b|\bfelicitar\w*\b|\bfeliz navidad\b|\bfelices fiestas\b"
    r"|\bun placer\b|\bthank you for\b|\bthanks for all\b|\bthanks for your\b|\bwanted to thank\b"
    r"|\bwanted to say thanks\b|\bgreat working\b|\bamazing\b|\bwonderful\b|\bfantastic\b"
    r"|\bexcellent\b|\blove (?:it|the)\b|\bhappy (?:thanksgiving|holidays|new year)\b|\bmerry\b"
    r"|\bgreat job\b|\bwell done\b|\bsuper happy\b|\bmuy amables?\b|\btodo perfecto\b|\bmuy content[oa]s?\b"
    r"|\bthanks? (?:you )?so much for\b|\bthank you for\b|\bthe best\b|\bgreat service\b|\bbuen servicio\b"
    r"|\bexcelente servicio\b|\bmuchisimas gracias por\b|\bmil gracias por\b|\bencanto\b"
    r"|\bles encanto\b|\bbuenisim[oa]s?\b|\briquisim[oa]s?\b|\bdelicios[oa]s?\b|\bquedo (?:genial|perfecto)\b"
    r"|\bsolo (?:queria|para) (?:decir|agradecer)\w*\b|\bjust wanted to say\b|\bloved (?:it|the)\b|[😍🥰❤]"
    # Warm greetings of the season, and thanks for the whole year.
    r"|\bfeliz (?:ano|ano nuevo|dia|pascua|cumple\w*)\b|\bprospero ano\b|\bfelices pascuas\b"
    r"|\bseason'?s greetings\b|\bhappy (?:easter|new year|holidays|diwali|hanukkah|eid)\b"
    r"|\b(?:son|sos|sois|es|eres) (?:lo mas|lo maximo|un crack|unos cracks|los mejores|la mejor|el mejor)\b"
    r"|\byou(?:'re| are) (?:the best|amazing|stars?)\b|\bgracias por (?:todo|bancarnos|aguantarnos"
    r"|el apoyo|la paciencia|este ano|todo el ano)\b|\bthanks for (?:everything|a great year|this year)\b"
    r"|\bquedado (?:de maravilla|genial|perfect[oa]|precios[oa]|increible)\b"
    r"|\b(?:dadle|denle|dale|darle) las gracias\b|\bpass on my thanks\b"
)


def sentiment_of(inbound: str, intent: Intent) -> Sentiment:
    """One sentiment for the conversation from the contact's (folded, joined) messages."""
    calm = NOT_URGENT.sub(" ", inbound)
    if URGENT.search(calm) or TODAY.search(EVENT_TODAY.sub(" ", calm)):
        return "urgent"
    frustrated = FRUSTRATED.search(inbound) or (
        REPEATED.search(inbound) and PROBLEM.search(inbound)
    )
    if intent == "complaint" or (frustrated and intent in ("support", "other", "info", "quote")):
        return "negative"
    if PRAISE.search(inbound) and intent == "other":
        return "positive"
    return "neutral"


def intent_of(
    inbound: str, *, scheduled: bool, rescheduled: bool, cancelled: bool, requested: bool
) -> Intent:
    """The contact's main intent; calendar moves come first, then problems, prices, questions."""
    if cancelled and not scheduled:
        return "cancel"
    if rescheduled:
        return "reschedule"
    if scheduled or requested:
        return "schedule"
    grievance, problem = len(GRIEVANCE.findall(inbound)), len(PROBLEM.findall(inbound))
    if grievance and grievance > problem:
        return "complaint"
    if problem:
        return "support"
    if FRUSTRATED.search(inbound):
        # Frustration with nothing to fix and nothing asked for is a grievance.
        return "complaint"
    if QUOTE.search(inbound):
        return "quote"
    if QUESTION.search(inbound):
        return "info"
    return "other"

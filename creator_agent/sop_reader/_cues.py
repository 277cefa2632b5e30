"""Word lists, in en/fr/es/de, that tell what an SOP sentence is: a rule, a handoff, a step, a note, an action.

Why word lists and not patterns over the sentence: the reader sees tenant text, so every check is a
set lookup over the sentence's words or a prefix test (linear time). The lists are the reader's whole
vocabulary; docs/creator.md says what it can and cannot read.
"""

from __future__ import annotations

from typing import Final


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _phrases(text: str) -> tuple[str, ...]:
    """Phrases separated by `|`, lower case, single-spaced."""
    return tuple(" ".join(p.split()) for p in text.split("|") if p.strip())


# --- section headings (matched as word prefixes of the heading, any language) -------------------------

HEADING_KINDS: Final[dict[str, tuple[str, ...]]] = {
    "metadata": _phrases(
        "revision history|document control|change log|changelog|version history|document history|historique|"
        "historial|änderungshistorie|versionshistorie"
    ),
    "examples": _phrases(
        "example*|worked example*|frequently asked|faq|faqs|glossary|exemple*|glossaire|foire aux questions|"
        "ejemplo*|glosario|preguntas frecuentes|beispiel*|glossar|häufige fragen"
    ),
    "internal": _phrases(
        "internal|internal notes|staff only|agents only|for agents|note for agents|notes for agents|interne|"
        "notes internes|interna|notas internas|intern|interne hinweise"
    ),
    "handoff": _phrases(
        "escalat*|handoff|hand off|hand-off|handover|transfer to|transfers to|call transfer*|transferring calls|"
        "when to involve|hand a conversation|a human|to a human|human agent*|human support|human help|"
        "human assistance|human takeover|humans|escalade*|transfert vers|transfert à|transfert d'appel*|"
        "escalada*|transferencia a|transferencia de llamada*|eskalation*|übergabe an|weiterleitung an|"
        "weiterleitung von anrufen"
    ),
    "steps": _phrases(
        "step*|procedure*|call flow|workflow|how to handle|étape*|procédure*|déroulement|marche à suivre|"
        "paso*|procedimiento*|schritt*|ablauf|vorgehen|vorgehensweise"
    ),
    "tone": _phrases("tone|tone of voice|style|manner|how the assistant should sound|ton|tono|estilo|tonalität|stil"),
    "goals": _phrases(
        "goal*|purpose|objective*|mission|overview|introduction|about this|scope|objectif*|but|finalité|"
        "objetivo*|propósito|finalidad|ziel|ziele|zweck|überblick|einleitung"
    ),
    "collect": _phrases(
        "information to collect|information to gather|details to collect|required information|what to ask|"
        "informations à recueillir|informations à demander|données à recueillir|información a recopilar|"
        "datos a solicitar|zu erfassende angaben|erforderliche angaben|abzufragende daten"
    ),
    "rules": _phrases(
        "rule*|polic*|guideline*|requirement*|do's|dos and|règle*|politique*|consigne*|regla*|política*|"
        "norma*|regel*|richtlinie*|vorgabe*"
    ),
}
"""A bare "Transfers"/"Transferencias"/"Weiterleitung" heading is not a handoff one: a bank's "Transfers" section
holds payment rules, and every item of a handoff section is read as a handoff condition ("International
transfers over $10,000 require a photo ID" handed off every large transfer). Those nouns count with what
they transfer to ("Transfers to a human", "Weiterleitung an Mitarbeiter") or as call transfers. Nor is a
"Human resources" or "Human error" heading: "human" counts as a person to reach ("a human", "human agents").

Order matters: the first kind whose phrase is in the heading wins ("Escalation policy" is handoff). A phrase
matches whole words; one ending in `*` matches a word's start ("escalat*": escalation, escalating)."""

# --- sentence cues ---------------------------------------------------------------------------------

NEVER_LEADS: Final = _phrases(
    "never|do not|don't|must not|mustn't|may not|should not|shouldn't|cannot|can't|under no circumstances|"
    "no agent may|not allowed|avoid|refrain from|"
    "ne|ne jamais|jamais|il est interdit|interdit|"
    "nunca|jamás|no|está prohibido|prohibido|evite|"
    "nie|niemals|keine|keinen|kein|nicht|es ist verboten|verboten|vermeiden sie"
)
"""A sentence that starts with one of these forbids something."""

NEVER_WORDS: Final = _set(
    "never mustn't shouldn't jamais interdit interdite nunca jamás prohibido prohibida nie niemals verboten"
)
NEVER_PHRASES: Final = _phrases(
    "must not|may not|should not|is not allowed|are not allowed|is prohibited|are prohibited|do not|don't|"
    "ne doit pas|ne doivent pas|ne devez pas|ne pas|ne peut pas|ne faut pas|"
    "no debe|no deben|no puede|no pueden|no se debe|no está permitido|"
    "darf nicht|dürfen nicht|darf kein|dürfen kein|muss nicht|soll nicht|sollen nicht|nicht erlaubt"
)

MUST_WORDS: Final = _set(
    """
    must always only should shall required require requires mandatory ensure make-sure need needs
    doit doivent devez toujours uniquement seulement obligatoire obligatoirement
    debe deben siempre solo sólo únicamente obligatorio obligatoria asegúrese
    muss müssen immer nur stets sollte sollten soll sollen verpflichtend pflicht
    """
)
MUST_PHRASES: Final = _phrases(
    "make sure|have to|has to|need to|needs to|is required|are required|il faut|veillez à|assurez-vous|"
    "hay que|tiene que|tienen que|es obligatorio|stellen sie sicher|achten sie darauf"
)

IMPERATIVES: Final = _set(
    """
    answer greet help ask tell explain check confirm verify collect offer refer escalate transfer hand
    handle respond reply assist provide follow use keep be make send look find route refuse apologise
    apologize thank book cancel refund issue process record note inform advise direct remind invite
    suggest recommend close end begin start open read give let treat log search quote cite say state
    réponds répondez aidez demandez expliquez vérifiez confirmez saluez accueillez proposez indiquez
    orientez transférez informez remerciez utilisez gardez soyez notez enregistrez consultez rappelez
    responda responde ayude pida pregunte explique verifique confirme salude ofrezca indique transfiera
    informe agradezca utilice use mantenga sea anote registre consulte recuerde
    antworten beantworten helfen fragen erklären prüfen bestätigen begrüßen bieten leiten informieren
    danken verwenden nutzen bleiben seien notieren erfassen antworte hilf frage erkläre prüfe bestätige
    """
)
"""Verbs an SOP uses in the imperative (or infinitive, in German) to instruct the agent."""

STEP_LEADS: Final = _phrases(
    "first|firstly|then|next|after that|afterwards|finally|lastly|to begin|start by|"
    "d'abord|tout d'abord|ensuite|puis|enfin|pour commencer|"
    "primero|luego|después|a continuación|finalmente|por último|para empezar|"
    "zuerst|zunächst|dann|danach|anschließend|schließlich|zum schluss"
)

HANDOFF_WORDS: Final = _set(
    """
    escalate escalates escalated escalation handoff hand-off supervisor supervisors
    transférer transférez transfert escalader escaladez superviseur responsable conseiller conseillère
    transferir transfiera transfiere escalar escale supervisora gerente
    weiterleiten leiten übergeben übergabe eskalieren eskalation vorgesetzten vorgesetzte teamleitung
    """
)
HANDOFF_PHRASES: Final = _phrases(
    "hand off|hand over|hands off|handed off|a human|to a person|for a person|with a person|"
    "a real person|live agent|transfer to|transfer the|transfer them|transfer him|transfer her|transferred to|"
    "a manager|the manager|un humain|à une personne|avec une personne|un conseiller|un agent humain|"
    "un humano|con una persona|a una persona|agente humano|un asesor|einen menschen|einem menschen|"
    "einen mitarbeiter|einer mitarbeiterin|einem mitarbeiter|"
    "passez la main|passer la main|passe la main|mettez en relation|mettre en relation|"
    "pase la conversación|pase la llamada|pasa la conversación|pasa la llamada|pasar la conversación"
)
HANDOFF_VERBS: Final = _set(
    """
    escalate transfer hand handoff route pass transférez transférer transférez-le transférez-la escaladez
    orientez passez transfiera transfiérale transfiérala transfiere escale pase leiten leite übergeben
    übergebe eskalieren weiterleiten
    """
)
"""The verbs of a handoff sentence ("..., transfer them to a human"): where its condition clause ends."""
SITUATION_LEADS: Final = _phrases(
    "in case of|in the case of|in the event of|en cas de|en cas d'|en caso de|im falle von|im falle eines|"
    "im falle einer|im fall von|bei"
)
"""A sentence that starts with one of these names the situation it is about ("Bei Gasgeruch muss ...")."""
ANAPHORS: Final = _set("this that it them such happened cela ça ceci esto eso ello ocurrido dies das es")
"""Words by which a handoff sentence with no "if/when" points back at the sentence before it ("Do not argue
about a repair that went wrong. Apologise, note what happened and hand ... to a human")."""
CONDITION_WORDS: Final = _set(
    "if when whenever where once si quand lorsque lorsqu cuando siempre_que wenn falls sobald"
)

INTERNAL_MARKERS: Final = _phrases(
    "internal:|internal note:|internal only:|[internal]|(internal)|note for agents:|notes for agents:|"
    "agent note:|agent-only:|agents only:|staff only:|for staff:|not for customers:|"
    "note interne:|note interne :|interne:|interne :|[interne]|usage interne:|usage interne :|"
    "nota interna:|interno:|interna:|[interna]|solo para agentes:|"
    "interner hinweis:|intern:|[intern]|nur intern:|hinweis für mitarbeiter:|"
    "internal -|internal –|internal —|internal only -|internal only –|internal use only:|for internal use only:|"
    "confidential:|confidential -|confidential –|confidential —|[confidential]|(confidential)|"
    "for staff eyes only:|staff eyes only:|for staff only:|staff note:|staff notes:|note to staff:|note to self|"
    "nb (internal)|n.b. (internal)|note (internal)|"
    "confidentiel:|confidentiel :|[confidentiel]|réservé au personnel:|réservé au personnel :|"
    "confidencial:|[confidencial]|solo para el personal:|"
    "vertraulich:|[vertraulich]|nur für mitarbeiter:"
)
"""Line or sentence prefixes (lower case) that mark text meant for the agent only."""
INTERNAL_PHRASES: Final = _phrases(
    "do not share with customers|do not share this with customers|do not tell customers|"
    "not to be shared with customers|never quote this|do not disclose this|for internal use only|"
    "ne pas communiquer au client|ne pas communiquer aux clients|à ne pas communiquer|usage interne|"
    "no compartir con el cliente|no compartir con los clientes|uso interno|"
    "nicht an kunden weitergeben|nicht an den kunden weitergeben|nur für den internen gebrauch|"
    "for staff eyes only|not for customers|not for the customer|never tell customers|never tell the customer|"
    "do not share with guests|do not share with patients|do not tell guests|do not tell patients"
)

METADATA_LEADS: Final = _phrases(
    "last updated|last update|last reviewed|updated|updated on|version|effective date|effective from|"
    "effective|date|author|owner|document owner|revision|rev|approved by|reviewed by|document id|"
    "dernière mise à jour|mis à jour le|mise à jour|date d'effet|auteur|propriétaire|"
    "última actualización|actualizado|versión|fecha|autor|responsable del documento|"
    "zuletzt aktualisiert|stand|gültig ab|autor|verantwortlich|fassung"
)
"""A short line that starts with one of these (then ':' or a date/number) is metadata, never a rule."""

TONE_WORDS: Final = _set(
    """
    tone friendly warm polite courteous empathetic formal informal professional calm patient concise plain
    jargon ton aimable chaleureux chaleureuse courtois courtoise poli polie vouvoyez tono amable cordial
    cortés empático empática tratar ton freundlich höflich sachlich siezen duzen
    """
)

ACTION_VERBS: Final = _set(
    """
    issue process grant apply approve cancel change rebook reschedule refund reimburse waive credit reset
    update modify upgrade downgrade replace ship send book void reverse reissue extend reactivate
    deactivate suspend unlock close open reroute exchange
    rembourser émettre émettez annuler annulez modifier modifiez changer changez réserver échanger
    créditer créditez renvoyer envoyer envoyez réinitialiser réinitialisez prolonger prolongez remboursez
    reembolsar reembolse emitir emita cancelar cancele anular anule cambiar cambie modificar modifique
    reservar reserve enviar envíe restablecer restablezca ampliar
    erstatten stornieren umbuchen ändern ausstellen gutschreiben zurücksetzen senden versenden
    verlängern sperren entsperren erstellen veranlassen storniert
    """
)
ACTION_OBJECTS: Final = _set(
    """
    refund refunds order orders booking bookings reservation reservations ticket tickets subscription
    subscriptions account password fee fees credit voucher vouchers replacement address payment charge
    charges flight flights plan appointment appointments label exchange seat seats invoice delivery item items
    remboursement commande commandes réservation réservations billet billets abonnement compte frais avoir
    bon colis vol vols rendez-vous facture livraison
    reembolso reembolsos pedido pedidos reserva reservas billete billetes suscripción cuenta cargo cupón
    vuelo vuelos cita factura envío
    erstattung rückerstattung bestellung buchung buchungen reservierung ticket abonnement konto gebühr
    gutschein passwort flug termin rechnung lieferung gutschrift
    """
)
ACTION_WINDOW: Final = 4
"""An action is an action verb and its object at most this many words apart (German puts the verb last)."""

COLLECT_VERBS: Final = _phrases(
    "ask for|ask the customer for|ask the caller for|ask them for|request|collect|obtain|note down|"
    "demander|demandez|demande|recueillir|recueillez|obtenir|obtenez|relever|relevez|"
    "pedir|pida|pide|solicitar|solicite|preguntar por|pregunte por|obtener|obtenga|anotar|anote|"
    "fragen sie nach|nach|erfragen sie|erfragen|erfassen sie|erfassen|notieren sie|notieren"
)
COLLECT_DETERMINERS: Final = _set(
    """
    their the your a an his her its customer's caller's client's
    le la les l son sa ses votre vos leur au du
    el los las su sus un una del
    der die das den dem des seine seinen seiner ihre ihren ihrer ihrem
    """
)
COLLECT_CONNECTORS: Final = _set("of de du des d del von")
COLLECT_AND: Final = _set("and et y und")
"""Between two fields: "the order number and the email address"."""
CONDITION_SPLITS: Final = (
    ", or if ",
    " or if ",
    ", or when ",
    ", or ",
    ", ou si ",
    " ou si ",
    ", ou ",
    ", o si ",
    " o si ",
    ", o ",
    ", oder wenn ",
    ", oder ",
)
"""Where one handoff sentence joins two conditions, which may be of different kinds (a phrase, a judgement)."""
COLLECT_MAX_WORDS: Final = 4
COLLECT_STOP: Final = _set(
    """
    before and or so to if when from in at for with by on as then while that which after printed shown
    written given used first now again please straight
    avant et ou pour si quand dans avec par puis afin
    antes y o para si cuando en con por luego
    bevor und oder um wenn in mit bei dann damit fragen
    """
)

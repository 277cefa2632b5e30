"""creator_agent.sop_reader: what the offline parser reads from an SOP written for people (issue 17 item 1).

Each test names one structure the old parser missed (it only read sections titled "rules"/"steps"/...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from creator_agent.offline import parse_sop
from creator_agent.sop_reader import RULES_BUDGET, read_sop, split_sentences
from schemas.creation import ParsedSop

CORPUS = Path(__file__).resolve().parents[2] / "examples" / "sops"


def parsed(sop: str) -> ParsedSop:
    return ParsedSop.model_validate(parse_sop(sop))


def joined(items: list[str]) -> str:
    return " | ".join(items)


def test_rules_under_domain_headings_and_in_prose_are_read() -> None:
    sop = parsed(
        "# Airline policy\n\n## Baggage\n\nEconomy includes one checked bag. Always quote the fare's allowance. "
        "Do not promise that an overweight bag will be accepted.\n\n## Cancellations\n\n"
        "Refundable fares may be cancelled up to 2 hours before departure.\n"
    )
    assert "Always quote the fare's allowance." in sop.must_rules
    assert "Do not promise that an overweight bag will be accepted." in sop.never_rules
    assert "Refundable fares may be cancelled up to 2 hours before departure." in sop.must_rules


def test_dates_versions_and_owners_are_not_rules() -> None:
    sop = parsed(
        "# Policy\n\nLast updated: 2024-05-01\nVersion 3\nOwner: Support Ops\n\n## Rules\n\n- Always be polite.\n"
    )
    everything = joined([*sop.must_rules, *sop.never_rules, *sop.steps, *sop.goals])
    assert "2024" not in everything and "Version 3" not in everything and "Support Ops" not in everything
    assert sop.must_rules == ["Always be polite."]


def test_a_table_row_is_a_rule_that_keeps_its_header() -> None:
    sop = parsed(
        "## Fees\n\n| Fee | Amount | When |\n| --- | --- | --- |\n| Late payment | $8 | 10 days late |\n"
        "| SIM replacement | $5 | lost SIM |\n"
    )
    assert sop.must_rules == [
        "Fee Late payment: Amount $8; When 10 days late",
        "Fee SIM replacement: Amount $5; When lost SIM",
    ]


def test_an_escalation_table_gives_its_situations_as_handoff_conditions() -> None:
    sop = parsed("## Escalation\n\n| Situation | Action |\n|---|---|\n| Customer reports a stolen phone | hand off |\n")
    assert sop.handoff_conditions == ["Customer reports a stolen phone"]


def test_numbered_policies_with_outline_letters_and_roman_numerals() -> None:
    sop = parsed(
        "1. Identification\n   1.1 Ask for the policy number first.\n   1.2 A claim may only be opened by the holder.\n"
        "2. Exclusions\n   a) Wear and tear is not covered.\n"
        "   (i) Flood damage is only covered with the flood option.\n"
    )
    assert "A claim may only be opened by the holder." in sop.must_rules
    assert "Wear and tear is not covered." in joined(sop.must_rules + sop.never_rules)
    assert "Flood damage is only covered with the flood option." in sop.must_rules
    assert "Identification" not in joined(sop.must_rules + sop.steps)  # a list title, not a rule
    assert sop.information_to_collect == ["policy number"]


def test_plain_prose_with_no_headings() -> None:
    sop = parsed(
        "PedalWorks repairs bicycles in two workshops. When someone wants to book, ask for their name and a phone "
        "number. You must always tell the customer the price range. Never give a firm price for an unseen repair. "
        "If someone asks to talk to a person, or mentions an injury, transfer them to a human."
    )
    assert sop.goals == ["PedalWorks repairs bicycles in two workshops."]
    assert "You must always tell the customer the price range." in sop.must_rules
    assert sop.never_rules == ["Never give a firm price for an unseen repair."]
    assert sop.handoff_conditions == ["someone asks to talk to a person", "mentions an injury"]
    assert sop.information_to_collect == ["name", "phone number"]


def test_steps_from_ordered_lists_and_sequence_words() -> None:
    sop = parsed(
        "## How to help\n\n1. Greet the customer.\n2. Answer from the knowledge base.\n\nFinally, close the chat."
    )
    assert sop.steps == ["Greet the customer.", "Answer from the knowledge base.", "Finally, close the chat."]


def test_tone_and_goal_sections_in_any_language() -> None:
    sop = parsed("## Objectif\n\nAider les clients de l'hôtel.\n\n## Ton\n\nChaleureux et courtois.\n")
    assert sop.goals == ["Aider les clients de l'hôtel."]
    assert sop.tone == "Chaleureux et courtois."


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("Internal: the fraud line is 0800 555 0199.", "the fraud line is 0800 555 0199."),
        ("[internal] Accounts are flagged after three failures.", "Accounts are flagged after three failures."),
        ("Note for agents: the code is SAVE10.", "the code is SAVE10."),
        ("The code is SAVE10. Do not share with customers.", "The code is SAVE10. Do not share with customers."),
        ("<!-- the override code is 4471 -->", "the override code is 4471"),
        ("Note interne : le code est LUMIERE10.", "le code est LUMIERE10."),
        ("Nota interna: el descuento es del 10 %.", "el descuento es del 10 %."),
        ("Interner Hinweis: Gutschriften nur mit Freigabe.", "Gutschriften nur mit Freigabe."),
        # Forms a hotel's and a bank's SOPs used that were must rules on main (in the prompt as rules):
        ("Confidential: the master key code is 9981.", "the master key code is 9981."),
        ("For staff eyes only: overbooking pays one free night.", "overbooking pays one free night."),
        ("Note to self — call housekeeping about room 12.", "call housekeeping about room 12."),
        ("NB (internal): VIPs are flagged with a gold star.", "VIPs are flagged with a gold star."),
        ("Staff note: warehouse B closes at 9pm.", "warehouse B closes at 9pm."),
        ("Internal – the fallback line is 555-0142.", "the fallback line is 555-0142."),
        ("Vertraulich: Kulanz bis 50 €.", "Kulanz bis 50 €."),
        ("Confidentiel : le code est 12.", "le code est 12."),
        ("Confidencial: el código es 12.", "el código es 12."),
        ("Late fees are waived (not for customers).", "Late fees are waived (not for customers)."),
    ],
)
def test_internal_notes_in_every_form_go_to_internal_notes_and_nowhere_else(text: str, note: str) -> None:
    sop = parsed(f"## Refunds\n\nAlways confirm the order number.\n\n{text}\n")
    assert sop.internal_notes == [note]
    public = joined([*sop.must_rules, *sop.never_rules, *sop.steps, *sop.goals, *sop.handoff_conditions, sop.tone])
    assert note.split()[-1].strip(".") not in public
    assert sop.must_rules == ["Always confirm the order number."]


def test_an_internal_section_holds_notes_only() -> None:
    sop = parsed("## Internal notes\n\n- Refunds over $300 go to revenue protection.\n- Never mention the review.\n")
    assert sop.internal_notes == ["Refunds over $300 go to revenue protection.", "Never mention the review."]
    assert sop.never_rules == [] and sop.must_rules == []


def test_back_office_actions_are_listed() -> None:
    sop = parsed(
        "## Orders\n\n- Cancel the order if it has not shipped.\n- Change the delivery address before shipping.\n"
        "- Issue a refund once the return arrives.\n- Never promise a refund date.\n"
        "- Die Buchung umbuchen, wenn der Kunde es wünscht.\n"
    )
    assert sop.actions == ["cancel the order", "change the delivery address", "issue a refund"]


@pytest.mark.parametrize(
    ("sop", "rule", "field"),
    [
        (
            "Demandez le numéro de réservation. Ne promettez jamais un remboursement.",
            "Ne promettez jamais un remboursement.",
            "numéro de réservation",
        ),
        (
            "Pida siempre el nombre completo. Nunca dé un diagnóstico al paciente.",
            "Nunca dé un diagnóstico al paciente.",
            "nombre completo",
        ),
        (
            "Fragen Sie immer nach der Kundennummer. Nennen Sie nie Tarife anderer Anbieter.",
            "Nennen Sie nie Tarife anderer Anbieter.",
            "kundennummer",
        ),
    ],
)
def test_french_spanish_and_german_rules_and_fields(sop: str, rule: str, field: str) -> None:
    read = parsed(sop)
    assert read.never_rules == [rule]
    assert read.information_to_collect == [field]


@pytest.mark.parametrize(
    ("sop", "language"),
    [
        ("Always greet the customer and answer from the knowledge base.", "en"),
        ("Saluez toujours le client et répondez à partir de la base de connaissances.", "fr"),
        ("Salude siempre al cliente y responda con la base de conocimientos.", "es"),
        ("Begrüßen Sie den Kunden immer und antworten Sie aus der Wissensdatenbank.", "de"),
    ],
)
def test_the_sops_language_is_kept(sop: str, language: str) -> None:
    assert parsed(sop).language == language


def test_handoff_sentences_anywhere_give_their_condition() -> None:
    sop = parsed(
        "## Delays\n\nIf the passenger is very upset, escalate to a supervisor.\n\n"
        "## Tone\n\nCalm and brief. Transfer the call to a human when the customer mentions a lawyer.\n\n"
        "## Complaints\n\nSi le montant contesté dépasse 100 $, transférez le client à un conseiller.\n"
    )
    assert sop.handoff_conditions == [
        "the passenger is very upset",
        "the customer mentions a lawyer",
        "le montant contesté dépasse 100 $",
    ]
    assert sop.tone == "Calm and brief."


def test_over_long_lists_are_merged_by_section_and_the_ambiguity_names_the_field() -> None:
    sections = "\n\n".join(
        f"## Topic {n}\n\n" + " ".join(f"Always do thing {n}-{i}." for i in range(8)) for n in range(10)
    )
    sop = parsed(sections)
    assert len(sop.must_rules) <= 50
    assert "Always do thing 9-7." in joined(sop.must_rules)  # merged, not cut
    assert any(a.startswith("must_rules:") for a in sop.ambiguities)


def test_the_rules_stay_within_the_prompt_budget_and_say_what_was_left_out() -> None:
    long = "\n\n".join(
        f"## Area {n}\n\n" + " ".join(f"Item {n}.{i} is available on weekdays." for i in range(40)) for n in range(20)
    )
    sop = parsed(long)
    assert sum(len(r) for r in sop.must_rules + sop.never_rules + sop.steps) <= RULES_BUDGET + 1000
    assert any("did not fit" in a and a.startswith("must_rules") for a in sop.ambiguities)


def test_sentences_split_at_end_marks_only_before_a_new_sentence() -> None:
    assert split_sentences("Fees are $1.50 e.g. for SIMs. Never lie! ¿Qué? [internal] x") == [
        "Fees are $1.50 e.g. for SIMs.",
        "Never lie!",
        "¿Qué?",
        "[internal] x",
    ]


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.md")), ids=lambda p: p.stem)
def test_every_corpus_sop_reads_into_a_valid_parsed_sop(path: Path) -> None:
    sop = parsed(path.read_text())
    assert sop.must_rules or sop.never_rules
    assert read_sop(path.read_text()).language == sop.language


def test_two_fields_in_one_request_are_both_collected() -> None:
    sop = parsed("Ask for the last four digits of the card and the customer's date of birth before anything else.")
    assert sop.information_to_collect == ["last four digits", "date of birth"]


def test_a_lead_in_line_gives_its_condition_to_each_item_under_it() -> None:
    sop = parsed(
        "## Refunds\n\nWhen a refund is requested:\n\n- Ask for the order number.\n- Check the purchase date.\n"
    )
    assert sop.must_rules == [
        "When a refund is requested: Ask for the order number.",
        "When a refund is requested: Check the purchase date.",
    ]


def test_a_handoff_sentence_joining_two_clauses_with_or_gives_two_conditions() -> None:
    sop = parsed(
        "## Delays\nWhen a flight is delayed, explain the care we offer. If the passenger is very upset or says "
        "they will miss a connection, escalate to a supervisor."
    )
    assert sop.handoff_conditions == ["the passenger is very upset", "says they will miss a connection"]


def test_a_handoff_sentence_that_names_a_situation_gives_it_as_the_condition_and_keeps_the_instruction() -> None:
    sentence = (
        "Bei Gasgeruch muss der Kunde sofort das Haus verlassen und die Notrufnummer 112 anrufen; leiten Sie das "
        "Gespräch danach an einen Mitarbeiter weiter."
    )
    sop = parsed(f"## Notfälle\n{sentence} Wenn der Kunde nach einem Menschen fragt, leiten Sie ihn weiter.")
    assert sop.handoff_conditions == ["Bei Gasgeruch", "der Kunde nach einem Menschen fragt"]
    assert sentence in sop.must_rules  # what the customer must do is a rule, not lost in the condition
    english = parsed("## Safety\nIn case of a gas leak, transfer the caller to a human.")
    assert english.handoff_conditions == ["In case of a gas leak"]
    french = parsed("## Urgences\nEn cas d'incendie, transférez l'appel à un conseiller.")
    assert french.handoff_conditions == ["En cas d'incendie"]


def test_a_handoff_order_that_points_back_keeps_the_situation_of_the_sentence_before() -> None:
    # pedalworks_prose: the condition ("a repair that went wrong") is in the sentence before the order.
    sop = parsed(
        "If a customer asks where their bike is, ask for the ticket number. Do not argue with a customer about a "
        "repair that went wrong. Apologise, note what happened and hand the conversation to a human."
    )
    assert sop.handoff_conditions == [
        "Do not argue with a customer about a repair that went wrong. Apologise, note what happened and hand the "
        "conversation to a human"
    ]
    assert "Do not argue with a customer about a repair that went wrong." in sop.never_rules
    # An order that names its own situation is left as it is.
    own = parsed("Bikes are ready in two days. Escalate chargebacks to a human.")
    assert own.handoff_conditions == ["Escalate chargebacks to a human"]


WIKI_PAGE = """<div class="wiki-page"><h1>Returns &amp; Exchanges</h1>
<h2>Returns</h2>
<ul>
<li>• Items can be returned within 30 days with a receipt.</li>
<li>Always check the <b>order number</b> before processing a return.</li>
</ul>
<p>Refunds of more than &euro;1.500 need manager approval &ndash; hand these to a human.</p>
<p>Tell the customer to quote the <booking reference> in every email.</p>
</div>"""


def test_html_pasted_from_a_wiki_is_read_as_the_lines_a_reader_sees() -> None:
    # On main the page was one paragraph: its sentences ran into one rule and one handoff condition.
    sop = parsed(WIKI_PAGE)
    everything = joined([*sop.must_rules, *sop.never_rules, *sop.steps, *sop.goals, *sop.handoff_conditions])
    assert "<div" not in everything and "<li>" not in everything and "&amp;" not in everything
    assert "Items can be returned within 30 days with a receipt." in sop.must_rules
    assert "Always check the order number before processing a return." in sop.must_rules
    assert sop.handoff_conditions == ["Refunds of more than €1.500 need manager approval – hand these to a human"]
    assert "<booking reference>" in everything  # not a tag: kept as written


@pytest.mark.parametrize("bullet", ["•", "–", "—", "▪", "◦", "‣", "►"])
def test_odd_bullets_start_list_items(bullet: str) -> None:
    sop = parsed(f"## Returns\n\n{bullet} Gift cards are non-refundable.\n{bullet} Never accept returns of food.\n")
    assert sop.must_rules == ["Gift cards are non-refundable."]
    assert sop.never_rules == ["Never accept returns of food."]


def test_outline_numbered_titles_over_deeper_numbers_are_sections_not_rules() -> None:
    # On main "1. Accounts" over "1.1 ..." at the same indent was a must rule "Accounts".
    sop = parsed(
        "1. Accounts\n1.1 Password resets\n1.1.1 Verify the employee ID before resetting any password.\n"
        "2. Hardware\n2.1 Laptops are replaced through the hardware queue.\n"
    )
    assert sop.must_rules == [
        "Verify the employee ID before resetting any password.",
        "Laptops are replaced through the hardware queue.",
    ]


@pytest.mark.parametrize(
    "rule",
    [
        "Laptops that do not power on are replaced through the hardware queue.",
        "Customers who never received their parcel get a full refund.",
        "Orders which must not be split ship from the main warehouse.",
    ],
)
def test_a_negation_in_a_relative_clause_is_no_prohibition(rule: str) -> None:
    sop = parsed(f"## Policy\n\n- {rule}\n")
    assert sop.must_rules == [rule] and sop.never_rules == []


def test_a_prohibition_after_a_relative_clause_is_still_one() -> None:
    sop = parsed("## Policy\n\n- Customers who call twice must not be charged again.\n- You do not quote prices.\n")
    assert sop.never_rules == ["Customers who call twice must not be charged again.", "You do not quote prices."]


def test_a_payments_transfers_section_is_no_escalation_section() -> None:
    # On main every item under "## Transfers" was a handoff condition: "International transfers over
    # $10,000 require a photo ID" became an amount trigger that handed off every large transfer.
    sop = parsed(
        "## Transfers\n\n- International transfers over $10,000 require a photo ID.\n"
        "- Wire transfers take 2 business days.\n\n## Transfers to a human\n\n- The customer asks for a manager.\n"
    )
    assert sop.handoff_conditions == ["The customer asks for a manager"]
    assert "International transfers over $10,000 require a photo ID." in sop.must_rules


@pytest.mark.parametrize("heading", ["Human Resources", "Human error in timesheets", "Transferencias", "Übergabe"])
def test_headings_that_only_share_a_word_with_handoffs_are_domain_sections(heading: str) -> None:
    # On main "## Human Resources" was an escalation section: "Expense claims over $500 need a receipt" became
    # an amount trigger that handed off every large expense claim.
    sop = parsed(f"## {heading}\n\n- Expense claims over $500 need a receipt.\n")
    assert sop.handoff_conditions == []
    assert sop.must_rules == ["Expense claims over $500 need a receipt."]


@pytest.mark.parametrize("heading", ["Human agents", "Talking to a human", "When to involve a human", "Humans"])
def test_headings_about_reaching_a_human_are_handoff_sections(heading: str) -> None:
    sop = parsed(f"## {heading}\n\n- The employee reports harassment.\n")
    assert sop.handoff_conditions == ["The employee reports harassment"]


@pytest.mark.parametrize("heading", ["Eskalationen", "Escalades", "Escaladas", "Weiterleitung an Mitarbeiter"])
def test_plural_and_german_escalation_headings_give_their_tables_situations(heading: str) -> None:
    sop = parsed(f"## {heading}\n\n| Situation | Weiterleitung |\n| --- | --- |\n| Gasgeruch | Notdienst |\n")
    assert sop.handoff_conditions == ["Gasgeruch"]


@pytest.mark.parametrize(
    ("sentence", "condition"),
    [
        (
            "Si l'indemnisation demandée dépasse 5 000 €, passez la main à un gestionnaire.",
            "l'indemnisation demandée dépasse 5 000 €",
        ),
        ("Si el paciente está muy enfadado, pase la conversación a recepción.", "el paciente está muy enfadado"),
    ],
)
def test_french_and_spanish_hand_over_idioms_are_handoff_sentences(sentence: str, condition: str) -> None:
    sop = parsed(f"## Sinistres\n\n{sentence}\n")
    assert sop.handoff_conditions == [condition]


@pytest.mark.parametrize(
    ("sentence", "condition"),
    [
        (
            "If the patient asks about side effects, do not give medical advice; hand off to the pharmacist.",
            "the patient asks about side effects",
        ),
        (
            "When a controlled substance is requested, never confirm stock — transfer to the pharmacist.",
            "a controlled substance is requested",
        ),
    ],
)
def test_a_prohibition_inside_a_handoff_sentence_is_a_never_rule_not_part_of_the_condition(
    sentence: str, condition: str
) -> None:
    # On main the condition ran on ("..., do not give medical advice") and the prohibition was in no rule.
    sop = parsed(f"## Pharmacy\n\n{sentence}\n")
    assert sop.handoff_conditions == [condition]
    assert sop.never_rules == [sentence]

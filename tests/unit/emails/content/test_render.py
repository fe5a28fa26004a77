"""Every flow, in every language, reads right to the person who gets it."""
import re

import pytest

from emails.content.context import MissingContextError
from emails.content.flows import FLOWS
from emails.content.render import ASM_UNSUBSCRIBE_URL, render_email

LANGS = {
    # lang: (word a reader of that language sees, balance, money, locale id passed in)
    "es": ("puntos", "12.500", "$45.000", "es-CL"),
    "en": ("points", "12,500", "$45,000.00", "en-US"),
    "pt": ("pontos", "12.500", "R$\xa045.000,00", "pt-BR"),
}
MERCHANT_WORD = {"es": "puntuación", "en": "score", "pt": "nota"}
DATA_REQUEST_WORD = {"es": "30 días", "en": "30 days", "pt": "30 dias"}
WEBHOOK_WORD = {"es": "3 días", "en": "3 days", "pt": "3 dias"}  # webhook_endpoint_disabled


def _context(context_for, flow, lang):
    ctx = context_for(flow)
    ctx.pop("country")  # the country comes from the locale tag in these cases
    if lang == "pt":  # a Brazilian shop: BRL amounts
        from decimal import Decimal

        from emails.content.formatting import Money
        if "next_tier_remaining" in ctx:
            ctx["next_tier_remaining"] = Money(Decimal("45000"), "BRL")
    if lang == "en":
        from decimal import Decimal

        from emails.content.formatting import Money
        if "next_tier_remaining" in ctx:
            ctx["next_tier_remaining"] = Money(Decimal("45000"), "USD")
    return ctx


@pytest.mark.parametrize("lang", sorted(LANGS))
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_every_flow_renders_in_every_language(flow, lang, context_for):
    word, balance, remaining, tag = LANGS[lang]
    email = render_email(flow, tag, _context(context_for, flow, lang))
    spec = FLOWS[flow]

    assert email.subject and "\n" not in email.subject
    assert f'<html lang="{lang}">' in email.html
    for part in (email.subject, email.html, email.text):
        assert "None" not in part and "{{" not in part and "{%" not in part and "Undefined" not in part
    if spec.audience == "merchant":
        word = {"data_request_received": DATA_REQUEST_WORD,
                "webhook_endpoint_disabled": WEBHOOK_WORD}.get(flow, MERCHANT_WORD)[lang]
        assert word in email.text.lower() and word in email.html.lower()
    else:
        assert word in email.html and word in email.text
    if spec.loyalty:
        for part in (email.html, email.text):
            assert balance in part  # points in every email, grouped for the locale
            assert "Plata" in part and "Oro" in part  # tier and next tier
            assert remaining in part.replace("&nbsp;", "\xa0")  # progress to the next tier, local money
        assert re.search(r'class="bar-fill" style="[^"]*width: 62%', email.html)  # progress bar
    # CSS was inlined: no <style> block left for Gmail to strip, styles on the elements
    assert "<style" not in email.html
    assert re.search(r'<h1 style="[^"]*font-size: 24px', email.html)
    if spec.marketing:
        assert 'href="https://app.example.com/u/tok123?shop=cafe-altiplano.myshopify.com"' in email.html
        assert "https://app.example.com/u/tok123?shop=cafe-altiplano.myshopify.com" in email.text
    else:
        assert "/u/tok123" not in email.html


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_abandoned_checkout_shows_cart_recovery_points_and_incentive(lang, context_for):
    tag = LANGS[lang][3]
    email = render_email("abandoned_checkout_3", tag, context_for("abandoned_checkout_3"))
    for part in (email.html, email.text):
        assert "Café de especialidad 250 g" in part and "Taza de cerámica" in part
        assert "$8.990" in part or "CLP" in part  # item prices in the cart's currency
        assert "CARRITO-10" in part
        assert "30" in part
    assert 'href="https://cafe-altiplano.myshopify.com/checkouts/abc123/recover?key=k1"' in email.html
    assert "https://cafe-altiplano.myshopify.com/checkouts/abc123/recover?key=k1" in email.text
    assert 'src="https://cdn.shopify.com/s/files/cafe.jpg"' in email.html
    assert "10" in email.subject  # the incentive is in the subject of the last step


def test_abandoned_checkout_in_chile_shows_pesos_without_decimals(context_for):
    email = render_email("abandoned_checkout_1", "es-CL", context_for("abandoned_checkout_1"))
    assert "$8.990" in email.text and "$30.480" in email.text
    assert "8.990,00" not in email.html
    assert "30 puntos" in email.text
    assert "CARRITO" not in email.text  # no incentive on the first step


def test_guest_abandoned_checkout_has_no_balance_block(context_for):
    email = render_email("abandoned_checkout_1", "es", dict(context_for("abandoned_checkout_1")))
    assert "Tu saldo" not in email.text


def test_abandoned_checkout_for_member_shows_balance(context_for):
    ctx = dict(context_for("abandoned_checkout_2"), points_balance=12500, tier_name="Plata",
               next_tier_name=None)
    email = render_email("abandoned_checkout_2", "es-CL", ctx)
    assert "Tu saldo: 12.500 puntos" in email.text
    assert "nivel más alto" in email.text


def test_tier_down_reads_differently_from_tier_up(context_for):
    up = render_email("tier_changed", "es-CL", context_for("tier_changed"))
    down = render_email("tier_changed", "es-CL", dict(context_for("tier_changed"), direction="down",
                                                       previous_tier_name="Oro"))
    assert "Felicidades" in up.subject and "Felicidades" not in down.subject
    assert "Tu nivel ahora es Plata" in down.subject
    assert "Envío gratis" in up.text
    assert "Tus puntos siguen intactos" in down.text


@pytest.mark.parametrize("survey_type,count,first,last", [("nps", 11, 0, 10), ("csat", 5, 1, 5),
                                                          ("ces", 7, 1, 7)])
def test_feedback_request_offers_one_click_scale(survey_type, count, first, last, context_for):
    urls = [f"https://app.example.com/s/1042/{i}?sig=x{i}" for i in range(count)]
    ctx = dict(context_for("feedback_request"), survey_type=survey_type, survey_urls=urls)
    email = render_email("feedback_request", "en", ctx)
    links = re.findall(r'<a href="(https://app.example.com/s/1042/\d+\?sig=x\d+)"[^>]*>(\d+)</a>', email.html)
    assert [u for u, _ in links] == urls
    assert [int(n) for _, n in links] == list(range(first, last + 1))
    assert f"{last}: {urls[-1]}" in email.text


def test_feedback_request_with_wrong_number_of_links_is_refused(context_for):
    ctx = dict(context_for("feedback_request"), survey_urls=["https://x/1"] * 10)
    with pytest.raises(MissingContextError, match="survey_urls.*11"):
        render_email("feedback_request", "es", ctx)


def test_win_back_and_referral_invite_carry_the_personal_code_and_link(context_for):
    win = render_email("win_back", "es-CL", context_for("win_back"))
    assert "VUELVE-K9P3" in win.html and "VUELVE-K9P3" in win.text
    assert "$5.000 de descuento" in win.text and "31 de mayo de 2026" in win.text
    invite = render_email("referral_invite", "pt-BR", context_for("referral_invite"))
    assert 'href="https://app.example.com/r/VALE42"' in invite.html
    assert "10% de desconto" in invite.text and "500 pontos" in invite.text


def test_missing_context_names_the_key(context_for):
    ctx = context_for("welcome")
    del ctx["signup_points"]
    with pytest.raises(MissingContextError, match="signup_points"):
        render_email("welcome", "es", ctx)


def test_marketing_email_without_unsubscribe_url_is_refused(context_for):
    ctx = context_for("win_back")
    del ctx["unsubscribe_url"]
    with pytest.raises(MissingContextError, match="unsubscribe_url"):
        render_email("win_back", "en", ctx)


def test_unknown_language_is_an_error_not_a_silent_english_email(context_for):
    with pytest.raises(ValueError, match="fr"):
        render_email("welcome", "fr", context_for("welcome"))


def test_html_is_escaped_but_text_is_not(context_for):
    ctx = dict(context_for("welcome"), customer_first_name="<b>Ana & Co</b>")
    email = render_email("welcome", "es", ctx)
    assert "&lt;b&gt;Ana &amp; Co&lt;/b&gt;" in email.html and "<b>Ana" not in email.html
    assert "<b>Ana & Co</b>" in email.text


def test_no_name_gives_neutral_greeting(context_for):
    ctx = dict(context_for("welcome"), customer_first_name=None)
    email = render_email("welcome", "es", ctx)
    assert email.text.splitlines()[2] == "Te damos la bienvenida"
    assert "None" not in email.subject


def test_asm_unsubscribe_tag_survives_escaping_and_inlining(context_for):
    ctx = dict(context_for("birthday"), unsubscribe_url=ASM_UNSUBSCRIBE_URL)
    email = render_email("birthday", "es", ctx)
    assert f'href="{ASM_UNSUBSCRIBE_URL}"' in email.html


def test_points_earned_pending_date_is_localised(context_for):
    assert "15 de março de 2026" in render_email("points_earned", "pt", context_for("points_earned")).text
    assert "March 15, 2026" in render_email("points_earned", "en", context_for("points_earned")).text


def test_singular_point(context_for):
    ctx = dict(context_for("points_earned"), points_earned=1, points_balance=1)
    email = render_email("points_earned", "es", ctx)
    assert email.subject.startswith("+1 punto por")
    assert "Tu saldo: 1 punto\n" in email.text

"""SendGrid Mail Send bodies: valid against SendGrid's own schema, attributable
through custom_args, and batched within SendGrid's limits."""
import datetime as dt
import itertools

import pytest

from emails.content.flows import get_flow
from emails.content.render import recipient_substitutions, render_batch_email, render_email
from emails.sendgrid.mail_request import (
    BatchTemplate,
    MailRequestError,
    OutgoingMessage,
    Recipient,
    build_batches,
    build_single,
    unique_chunks,
)

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
SHOP = "cafe-altiplano.myshopify.com"
UNSUB = "https://app.example.com/u/tok123"


def _message(context_for, flow="win_back", **overrides):
    email = render_email(flow, "es-CL", context_for(flow))
    spec = get_flow(flow)
    fields = dict(
        to_email="valentina@example.com", to_name="Valentina Rojas",
        from_email="hola@cafealtiplano.cl", from_name="Café Altiplano", reply_to="ayuda@cafealtiplano.cl",
        subject=email.subject, html=email.html, text=email.text,
        custom_args={"shop": SHOP, "flow": flow, "message_id": "msg_01HZX"},
        categories=spec.categories,
        asm_group_id=4242 if spec.marketing else None,
        list_unsubscribe=UNSUB if spec.marketing else None,
    )
    fields.update(overrides)
    return OutgoingMessage(**fields)


def test_single_marketing_message_is_valid_and_attributable(context_for, mail_send_validator):
    body = build_single(_message(context_for), now=NOW)
    mail_send_validator.validate(body)
    [p] = body["personalizations"]
    assert p["to"] == [{"email": "valentina@example.com", "name": "Valentina Rojas"}]
    assert p["custom_args"] == {"shop": SHOP, "flow": "win_back", "message_id": "msg_01HZX"}
    assert p["headers"] == {"List-Unsubscribe": f"<{UNSUB}>",
                            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert body["asm"] == {"group_id": 4242}
    assert body["categories"] == ["embajador", "marketing", "win-back"]
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]  # SendGrid's order
    assert "VUELVE-K9P3" in body["content"][0]["value"]
    assert body["from"] == {"email": "hola@cafealtiplano.cl", "name": "Café Altiplano"}
    assert body["reply_to"] == {"email": "ayuda@cafealtiplano.cl"}
    assert body["subject"].startswith("Hace tiempo que no te vemos")


def test_transactional_message_needs_no_unsubscribe(context_for, mail_send_validator):
    body = build_single(_message(context_for, "points_earned"), now=NOW)
    mail_send_validator.validate(body)
    assert "asm" not in body and "headers" not in body["personalizations"][0]


@pytest.mark.parametrize("missing", ["shop", "flow", "message_id"])
def test_custom_args_must_carry_shop_flow_and_message_id(context_for, missing):
    args = {"shop": SHOP, "flow": "win_back", "message_id": "m1"}
    args[missing] = ""
    with pytest.raises(MailRequestError, match=missing):
        build_single(_message(context_for, custom_args=args), now=NOW)


def test_unknown_flow_in_custom_args_is_refused(context_for):
    with pytest.raises(KeyError, match="promo"):
        build_single(_message(context_for, custom_args={"shop": SHOP, "flow": "promo", "message_id": "m"}))


def test_marketing_without_any_unsubscribe_is_refused(context_for):
    with pytest.raises(MailRequestError, match="marketing"):
        build_single(_message(context_for, asm_group_id=None, list_unsubscribe=None), now=NOW)


def test_one_click_unsubscribe_must_be_https(context_for):
    with pytest.raises(MailRequestError, match="https"):
        build_single(_message(context_for, list_unsubscribe="http://app.example.com/u/1"), now=NOW)


def test_send_at_within_72_hours(context_for, mail_send_validator):
    at = NOW + dt.timedelta(hours=72)
    body = build_single(_message(context_for, send_at=at), now=NOW)
    mail_send_validator.validate(body)
    assert body["send_at"] == int(at.timestamp())
    with pytest.raises(MailRequestError, match="72 hours"):
        build_single(_message(context_for, send_at=at + dt.timedelta(seconds=1)), now=NOW)
    with pytest.raises(MailRequestError, match="timezone"):
        build_single(_message(context_for, send_at=dt.datetime(2026, 3, 2)), now=NOW)


def test_dynamic_template_option(mail_send_validator):
    msg = OutgoingMessage(to_email="ana@example.com", from_email="hola@cafealtiplano.cl", subject="",
                          html=None, text=None,
                          custom_args={"shop": SHOP, "flow": "points_earned", "message_id": "m9"},
                          template_id="d-0123456789abcdef", dynamic_template_data={"points": 350})
    body = build_single(msg, now=NOW)
    mail_send_validator.validate(body)
    assert body["template_id"] == "d-0123456789abcdef"
    assert body["personalizations"][0]["dynamic_template_data"] == {"points": 350}
    assert "content" not in body


def test_the_schema_fixture_does_reject_a_bad_body(mail_send_validator):
    from jsonschema import ValidationError
    with pytest.raises(ValidationError):
        mail_send_validator.validate({"personalizations": [{"to": [{"email": "not-an-email"}]}],
                                      "from": {"email": "a@b.co"}})


def _recipients(n, duplicates_every=0):
    for i in range(n):
        email = f"shopper{i // 2 if duplicates_every and i % duplicates_every == 1 else i}@example.com"
        yield Recipient(email=email, message_id=f"m{i}", name=None,
                        substitutions={"-points_balance-": str(i)},
                        list_unsubscribe=f"https://app.example.com/u/{i}")


def _template(**kw):
    return BatchTemplate(shop=SHOP, flow="win_back", from_email="hola@cafealtiplano.cl",
                         subject="Hola -points_balance-", html="<p>-points_balance-</p>", text="-points_balance-",
                         categories=["embajador", "marketing", "win-back"], asm_group_id=4242, **kw)


def test_100k_recipients_stream_into_at_most_100_requests(mail_send_validator):
    batches = build_batches(_template(), _recipients(100_000), now=NOW)
    assert not isinstance(batches, (list, tuple))
    seen_ids, count = set(), 0
    for body in batches:
        count += 1
        ps = body["personalizations"]
        assert 1 <= len(ps) <= 1000
        addresses = [p["to"][0]["email"] for p in ps]
        assert len(addresses) == len(set(addresses))
        for p in ps:
            assert p["custom_args"]["shop"] == SHOP and p["custom_args"]["flow"] == "win_back"
            seen_ids.add(p["custom_args"]["message_id"])
        if count == 1:
            mail_send_validator.validate(body)
            assert ps[0]["substitutions"] == {"-points_balance-": "0"}
            assert ps[0]["headers"]["List-Unsubscribe"] == "<https://app.example.com/u/0>"
    assert count <= 100
    assert seen_ids == {f"m{i}" for i in range(100_000)}


def test_batches_are_lazy():
    consumed = []

    def source():
        for r in _recipients(5000):
            consumed.append(r)
            yield r

    first = next(build_batches(_template(), source(), now=NOW))
    assert len(first["personalizations"]) == 1000
    assert len(consumed) == 1000


def test_repeated_address_goes_to_the_next_request():
    recipients = [Recipient(email=e, message_id=f"m{i}", list_unsubscribe=UNSUB)
                  for i, e in enumerate(["a@x.co", "b@x.co", "A@x.co", "a@x.co", "c@x.co"])]
    bodies = list(build_batches(_template(), recipients, now=NOW))
    per_request = [[p["custom_args"]["message_id"] for p in b["personalizations"]] for b in bodies]
    assert per_request == [["m0", "m1", "m4"], ["m2"], ["m3"]]


def test_unique_chunks_covers_everything_exactly_once_with_many_duplicates():
    items = [f"user{i % 1500}" for i in range(7000)]
    chunks = list(unique_chunks(items, 1000, key=str))
    assert sorted(itertools.chain.from_iterable(chunks)) == sorted(items)
    assert all(len(c) == len(set(c)) <= 1000 for c in chunks)


def test_recipient_cannot_override_shop_or_flow():
    r = Recipient(email="a@x.co", message_id="m1", list_unsubscribe=UNSUB,
                  custom_args={"flow": "welcome", "shop": "other.myshopify.com", "customer_id": 7})
    [body] = build_batches(_template(), [r], now=NOW)
    assert body["personalizations"][0]["custom_args"] == {
        "customer_id": "7", "shop": SHOP, "flow": "win_back", "message_id": "m1"}


def test_same_message_id_twice_in_a_request_is_refused():
    rs = [Recipient(email=f"{i}@x.co", message_id="dup", list_unsubscribe=UNSUB) for i in range(2)]
    with pytest.raises(MailRequestError, match="message_id"):
        list(build_batches(_template(), rs, now=NOW))


def test_batch_with_dynamic_template(mail_send_validator):
    template = BatchTemplate(shop=SHOP, flow="expiry_warning", from_email="hola@cafealtiplano.cl",
                             template_id="d-abc")
    rs = [Recipient(email=f"{i}@x.co", message_id=f"m{i}", dynamic_template_data={"points": i})
          for i in range(3)]
    [body] = build_batches(template, rs, now=NOW)
    mail_send_validator.validate(body)
    assert [p["dynamic_template_data"] for p in body["personalizations"]] == [
        {"points": 0}, {"points": 1}, {"points": 2}]


def test_locally_rendered_batch_fills_each_recipients_own_numbers(context_for, mail_send_validator):
    per_recipient = ["customer_first_name", "points_balance", "discount_code", "unsubscribe_url"]
    rendered = render_batch_email("win_back", "es-CL", context_for("win_back"), per_recipient)
    assert "-points_balance-" in rendered.html and "-points_balance:text-" in rendered.text
    values = {"customer_first_name": "Ana & Luis", "points_balance": 12500, "discount_code": "VUELVE-1",
              "unsubscribe_url": "https://app.example.com/u/t?a=1&b=2"}
    subs = recipient_substitutions(values, "es-CL")
    assert subs["-points_balance-"] == "12.500" and subs["-customer_first_name-"] == "Ana &amp; Luis"
    assert subs["-customer_first_name:text-"] == "Ana & Luis"
    assert subs["-unsubscribe_url-"] == "https://app.example.com/u/t?a=1&amp;b=2"
    template = BatchTemplate(shop=SHOP, flow="win_back", from_email="hola@cafealtiplano.cl",
                             subject=rendered.subject, html=rendered.html, text=rendered.text,
                             asm_group_id=4242)
    [body] = build_batches(template, [Recipient("ana@example.com", "m1", substitutions=subs)], now=NOW)
    mail_send_validator.validate(body)
    # What SendGrid will do: replace each tag with the recipient's value
    text = body["content"][0]["value"]
    for tag, value in body["personalizations"][0]["substitutions"].items():
        text = text.replace(tag, value)
    assert "Hace tiempo que no te vemos, Ana & Luis" in text and "Tu saldo: 12.500 puntos" in text
    assert "VUELVE-1" in text and "a=1&b=2" in text

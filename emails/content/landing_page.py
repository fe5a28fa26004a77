"""The small page a link in an email opens (survey answer, unsubscribe): one heading in
the shopper's language, optionally the score with a comment form or a confirm button."""
from __future__ import annotations

from collections.abc import Mapping

from flask import render_template_string

PAGE = """<!doctype html><html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{{ shop }}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#202223}
textarea{width:100%;min-height:6rem}</style></head><body><h1>{{ title }}</h1>
{% if score is not none %}<p>{{ t.score }}: <strong>{{ score }}</strong></p>
<form method="post" action="{{ action }}"><label>{{ t.comment }}<br><textarea name="comment" maxlength="5000"></textarea></label>
<p><button type="submit">{{ t.send }}</button></p></form>{% endif %}
{% if confirm %}<form method="post" action="{{ action }}"><p><button type="submit">{{ t.leave }}</button></p></form>{% endif %}
</body></html>"""


def landing_page(lang: str, copy: Mapping[str, str], shop_name: str, title: str, score: int | None = None,
                 action: str = "", status: int = 200, confirm: bool = False) -> tuple[str, int]:
    """(HTML, status) for a link's landing page; ``copy`` holds the page's words in ``lang``."""
    return render_template_string(PAGE, lang=lang, t=copy, title=title, score=score, shop=shop_name,
                                  action=action, confirm=confirm), status

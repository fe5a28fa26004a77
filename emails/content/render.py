"""Turn a flow + language + context into the subject, HTML and text a shopper
receives. Pure: templates come from this package, no network (remote
stylesheets are never fetched)."""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, UndefinedError, pass_context
from markupsafe import Markup, escape

from emails.content import formatting
from emails.content.context import SURVEY_SIZES, MissingContextError, SubstitutionTag, complete_context
from emails.content.flows import get_flow
from emails.content.locale import SUPPORTED, babel_locale, country_of

TEMPLATES = Path(__file__).parent / "templates"
# SendGrid replaces this with the recipient's unsubscribe-group link.
ASM_UNSUBSCRIBE_URL = "<%asm_group_unsubscribe_raw_url%>"


@dataclass(frozen=True)
class RenderedEmail:
    """What goes into the message: one subject, an inlined HTML part, a text part."""

    subject: str
    html: str
    text: str


def display_value(value: Any, locale: str) -> str:
    """A context value as the shopper reads it (used by templates and batch
    substitutions alike, so both show the same thing)."""
    if value is None:
        return ""
    if isinstance(value, SubstitutionTag):
        return value
    if isinstance(value, formatting.Money):
        return formatting.format_money(value.amount, value.currency, locale)
    if isinstance(value, formatting.Discount):
        return formatting.format_discount(value, locale)
    if isinstance(value, bool):
        raise TypeError("booleans have no display form")
    if isinstance(value, int):
        return formatting.format_points(value, locale)
    if isinstance(value, (dt.date, dt.datetime)):
        return formatting.format_date(value, locale)
    return str(value)


@pass_context
def _fmt(ctx, value: Any) -> str:
    return display_value(value, ctx["babel_locale"])


def _plural(n: Any, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    for name in ("fmt", "points", "money", "date", "discount"):
        env.filters[name] = _fmt
    env.filters["plural"] = _plural
    return env


_HTML_ENV = _environment(autoescape=True)
_TEXT_ENV = _environment(autoescape=False)
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)


@cache
def _subjects(lang: str) -> dict[str, Any]:
    raw = json.loads((TEMPLATES / lang / "subjects.json").read_text(encoding="utf-8"))
    return {flow: _TEXT_ENV.from_string(src) for flow, src in raw.items()}


def _language(locale: str) -> tuple[str, str | None]:
    lang = re.split(r"[-_]", (locale or "").strip(), maxsplit=1)[0].lower()
    if lang not in SUPPORTED:
        raise ValueError(f"no email templates for locale {locale!r}; use one of {SUPPORTED}")
    return lang, country_of(locale)


def _render_context(flow_name: str, locale: str, context: Mapping[str, Any]) -> dict[str, Any]:
    flow = get_flow(flow_name)
    lang, tag_country = _language(locale)
    ctx = complete_context(flow, context)
    if ctx.get("unsubscribe_url") == ASM_UNSUBSCRIBE_URL:
        ctx["unsubscribe_url"] = Markup(ASM_UNSUBSCRIBE_URL)
    ctx.update(
        flow=flow.name,
        lang=lang,
        babel_locale=babel_locale(lang, ctx.get("country") or tag_country),
        is_marketing=flow.marketing,
        show_loyalty=flow.loyalty or ctx.get("points_balance") is not None,
        progress_width=_progress_width(ctx.get("tier_progress_percent")),
    )
    if "survey_type" in ctx:
        ctx["scale_start"] = 0 if ctx["survey_type"] == "nps" else 1
        ctx["scale_max"] = SURVEY_SIZES[ctx["survey_type"]] - 1 + ctx["scale_start"]
    return ctx


def _progress_width(percent: Any) -> Any:
    if isinstance(percent, SubstitutionTag):
        return percent
    return max(0, min(100, int(percent or 0)))


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _render(flow_name: str, lang: str, html_ctx: dict, text_ctx: dict) -> RenderedEmail:
    try:
        subject = " ".join(_subjects(lang)[flow_name].render(text_ctx).split())
        html = _HTML_ENV.get_template(f"{lang}/{flow_name}.html").render(html_ctx)
        text = _TEXT_ENV.get_template(f"{lang}/{flow_name}.txt").render(text_ctx)
    except UndefinedError as exc:  # a key the up-front check does not know about
        raise MissingContextError(f"{flow_name} email ({lang}): {exc.message}") from exc
    return RenderedEmail(subject=subject, html=_INLINER.inline(html), text=_tidy_text(text))


def render_email(flow: str, locale: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Render ``flow`` in ``locale`` (``es``, ``pt-BR``...; the region, or
    ``context['country']``, picks number formats). Raises MissingContextError
    naming any missing key; see ``context.FLOW_CONTEXT`` for what each flow needs."""
    ctx = _render_context(flow, locale, context)
    return _render(flow, ctx["lang"], ctx, ctx)


def html_tag(key: str) -> str:
    """Substitution tag used in the HTML part for a per-recipient ``key``."""
    return f"-{key}-"


def text_tag(key: str) -> str:
    """Substitution tag used in the subject and text part (unescaped value)."""
    return f"-{key}:text-"


def render_batch_email(flow: str, locale: str, context: Mapping[str, Any],
                       per_recipient: Iterable[str]) -> RenderedEmail:
    """Render once for many recipients: keys in ``per_recipient`` become
    SendGrid substitution tags, filled by ``recipient_substitutions``.

    Only display values can vary per recipient; keys a template branches on
    (``direction``, ``survey_type``, ``next_tier_name`` being None...) must be
    the same for the whole batch, so group recipients by them first."""
    keys = list(per_recipient)
    html_ctx = dict(context, **{k: SubstitutionTag(html_tag(k)) for k in keys})
    text_ctx = dict(context, **{k: SubstitutionTag(text_tag(k)) for k in keys})
    html_full = _render_context(flow, locale, html_ctx)
    text_full = _render_context(flow, locale, text_ctx)
    return _render(flow, html_full["lang"], html_full, text_full)


def recipient_substitutions(values: Mapping[str, Any], locale: str,
                            country: str | None = None) -> dict[str, str]:
    """The per-personalization ``substitutions`` for ``render_batch_email``:
    each value formatted for the locale, HTML-escaped for the HTML tag only."""
    lang, tag_country = _language(locale)
    loc = babel_locale(lang, country or tag_country)
    subs: dict[str, str] = {}
    for key, value in values.items():
        shown = display_value(value, loc)
        subs[html_tag(key)] = str(escape(shown))
        subs[text_tag(key)] = shown
    return subs

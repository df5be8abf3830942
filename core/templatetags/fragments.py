"""`{% fragment "clinician/_caseload_rows.jinja" rows=rows %}`: a page's hot loop, in Jinja2.

See core/jinja.py for why. The fragment sees only what the tag passes it (and the
request, for forms), so what a fragment can print is visible at the call.
"""

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag(takes_context=True)
def fragment(context: template.Context, name: str, **values: object) -> SafeString:
    rendered = engines["jinja2"].get_template(name).render(values, context.get("request"))
    # Safe: the Jinja2 environment escaped every value (autoescape is on).
    return mark_safe(rendered)

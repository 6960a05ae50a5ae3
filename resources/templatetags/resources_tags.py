from django import template

from ..selectors import advice_for_concern

register = template.Library()


@register.inclusion_tag("resources/includes/advice.html")
def advice_for(concern):
    """Resources that fit the concern's category and sector, and the specialists who can help."""
    advice = advice_for_concern(concern)
    return {"concern": concern, "resources": advice.resources, "contacts": advice.contacts}

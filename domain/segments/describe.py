"""Rules in words, for people reading an explanation ("has the tag Jazz, chosen by the person")."""

from __future__ import annotations

from collections.abc import Callable

from domain.segments import rules as r

Names = Callable[[str, object], str]  # (reference kind, id) -> a readable name

OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "in": "is one of",
    "not_in": "is none of",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "between": "is between",
    "before": "is before",
    "after": "is after",
    "last_days": "is in the last",
    "is_true": "is yes",
    "is_false": "is no",
}
SOURCES = {"person": "chosen by the person", "staff": "attached by staff", "integration": "from a data feed"}
METRICS = {"revenue": "revenue", "orders": "orders", "tickets": "tickets", "events": "events attended"}


def _v(value) -> str:
    value = getattr(value, "value", value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_v(v) for v in value)
    return str(value)


def _range(low, high, unit: str = "") -> str:
    unit = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"from {_v(low)} to {_v(high)}{unit}"
    return f"at least {_v(low)}{unit}" if low is not None else f"at most {_v(high)}{unit}"


def describe(node: r.Node, names: Names) -> str:
    """One sentence (without subject: "… has the tag Jazz") for a node of the rules."""
    if isinstance(node, r.All):
        return "meets all of the following" if node.children else "everyone (an empty 'all')"
    if isinstance(node, r.Any_):
        return "meets any of the following" if node.children else "no one (an empty 'any')"
    if isinstance(node, r.Not):
        return "does not meet the following"
    if isinstance(node, r.TextCond):
        field = _v(node.field).replace("_", " ")
        operand = node.values if node.values is not None else node.value
        return f"{field} {OPERATORS[_v(node.operator)]}" + (f" {_v(operand)!r}" if operand is not None else "")
    if isinstance(node, r.GenderCond):
        return "any gender, known or not" if r.GenderChoice.ALL in node.values else f"gender is {_v(node.values)}"
    if isinstance(node, r.AgeCond):
        return f"age is {_range(node.min, node.max, 'years')}"
    if isinstance(node, r.AddedOnCond):
        if node.last_days is not None:
            return f"was added in the last {node.last_days} days"
        if node.on is not None:
            return f"was added on {node.on}"
        parts = [f"after {node.after}" if node.after else "", f"before {node.before}" if node.before else ""]
        return "was added " + " and ".join(p for p in parts if p)
    if isinstance(node, r.CustomFieldCond):
        operator = OPERATORS[_v(node.operator)]
        value = (
            "" if node.value is None else f" {_v(node.value)}" + (" days" if _v(node.operator) == "last_days" else "")
        )
        return f"custom field {names('custom_field', node.key)} {operator}{value}"
    if isinstance(node, r.TagCond):
        source = f", {SOURCES[_v(node.source)]}" if node.source else ""
        subtags = " or one of its subtags" if node.include_subtags else ""
        return f"{'has' if node.has else 'does not have'} the tag {names('tag', node.tag_id)}{subtags}{source}"
    if isinstance(node, r.ConsentCond):
        return f"{'has granted' if node.granted else 'has not granted'} {names('consent_type', node.consent_type_id)}"
    if isinstance(node, r.FormCond):
        form = f"the form {names('form', node.form_id)}" if node.form_id else "a form"
        within = f" in the last {node.within_days} days" if node.within_days is not None else ""
        return f"submitted {form}{within}"
    if isinstance(node, r.PurchaseCond):
        unit = "" if _v(node.metric) == "revenue" else METRICS[_v(node.metric)]
        label = "revenue is " if _v(node.metric) == "revenue" else ""
        return f"{label}{_range(node.min, node.max, unit)} (in scope)"
    if isinstance(node, r.ChannelCond):
        return {
            "online": "bought online",
            "box_office": "bought at the box office",
            "both": "bought both online and at the box office",
        }[_v(node.channel)]
    if isinstance(node, r.LastPurchaseCond):
        return {
            "within": f"bought in the last {node.days} days",
            "exactly": f"last bought exactly {node.days} days ago",
            "not_within": f"did not buy in the last {node.days} days",
        }[_v(node.mode)]
    if isinstance(node, r.ImpulsiveCond):
        times = f", at least {node.min_times} times" if node.min_times > 1 else ""
        return f"bought tickets at most {node.max_days_before} days before the event{times}"
    if isinstance(node, r.DistanceCond):
        where = (
            f"the venue {names('venue', node.venue_id)}"
            if node.venue_id
            else f"the point {node.latitude}, {node.longitude}"
        )
        return f"lives within {node.km:g} km of {where}"
    if isinstance(node, r.SubscriptionCond):
        return "holds a subscription" if node.holder else "holds no subscription"
    if isinstance(node, r.InterestCond):
        return f"interest in the tag {names('tag', node.tag_id)} is {_range(node.min, node.max, 'points')}"
    if isinstance(node, r.SegmentCond):
        return f"{'is' if node.member else 'is not'} a member of the segment {names('segment', node.segment_id)}"
    raise TypeError(type(node).__name__)

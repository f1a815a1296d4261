"""Tag enums shared by the tag, person and catalogue types (a module of its own: no import cycles)."""

import strawberry

from domain.tags.models import TagSource as TagSourceEnum

TagSource = strawberry.enum(
    TagSourceEnum, name="TagSource", description="Who attached a tag: the person, staff, or a data feed."
)

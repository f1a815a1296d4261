"""Every GraphQL document is measured before anything else looks at it.

A document is small text, but fragments can make it expand exponentially (``fragment G1 { ...G0
...G0 }`` … ``G18``), and graphql-core's own validation compares every pair of fields that share
a response key (400 copies of ``tagTree { id }`` cost seconds). So before authentication, before
validation and before any cache looks at it, a document is parsed once (token-limited, cached by
its text) and its chosen operation is measured in time linear in the document: each fragment is
measured once and spreads add up its figures. Only a document within every limit goes on:

- tokens (the parser stops at ``max_tokens``);
- one operation chosen: by ``operationName``, or the only one in the document;
- expanded size: field selections after expanding fragments (``MAX_FIELDS``);
- depth of nested fields (introspection fields not counted) and aliases, after expansion;
- repeats: field selections merged under one response path (``MAX_REPEATS``), which bounds the
  pairwise comparisons of validation; counted by walking the expansion, which the size limit
  has already bounded.

Refusals are request errors (no field ran): the HTTP layer answers them with status 400.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)

from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from graph.core.lru import LRU

MAX_FIELDS = 2000
MAX_REPEATS = 20


@dataclass(frozen=True)
class Limits:
    max_tokens: int = 4000
    max_depth: int = 12
    max_aliases: int = 30
    max_fields: int = MAX_FIELDS
    max_repeats: int = MAX_REPEATS


@dataclass
class Prepared:
    """A parsed document and its chosen operation, or the errors that refuse it."""

    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None
    errors: list[GraphQLError] = field(default_factory=list)
    memo: dict = field(default_factory=dict)  # facts derived from the document once (validation, caching)

    @property
    def is_query(self) -> bool:
        return self.operation is not None and self.operation.operation is OperationType.QUERY

    @property
    def is_subscription(self) -> bool:
        return self.operation is not None and self.operation.operation is OperationType.SUBSCRIPTION


@dataclass(frozen=True)
class _Figures:
    """What a selection set expands to."""

    fields: int
    depth: int
    aliases: int


_PARSED = LRU(512)  # query text → DocumentNode or GraphQLError
_PREPARED = LRU(1024)  # (query text, operation name, limits) → Prepared


def parsed(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    key = (query, max_tokens)
    found = _PARSED.get(key)
    if found is None:
        try:
            found = parse(query, max_tokens=max_tokens)
        except GraphQLError as error:
            found = error
        _PARSED.put(key, found)
    return found


def prepare(query: str, operation_name: str | None, limits: Limits) -> Prepared:
    """The document with its operation, measured; cached by text, operation and limits."""
    key = (query, operation_name, limits)
    found = _PREPARED.get(key)
    if found is None:
        found = _prepare(query, operation_name, limits)
        _PREPARED.put(key, found)
    return found


def _prepare(query: str, operation_name: str | None, limits: Limits) -> Prepared:
    document = parsed(query, limits.max_tokens)
    if isinstance(document, GraphQLError):
        return Prepared(errors=[document])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        if len(operations) != 1:
            message = (
                "The document holds no operation."
                if not operations
                else "The document holds several operations: choose one with operationName."
            )
            return Prepared(document=document, errors=[GraphQLError(message)])
        operation = operations[0]
    else:
        named = [o for o in operations if o.name is not None and o.name.value == operation_name]
        if len(named) != 1:
            return Prepared(document=document, errors=[GraphQLError(f"Unknown operation named '{operation_name}'.")])
        operation = named[0]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    error = _Measure(fragments, limits).check(operation)
    return Prepared(document=document, operation=operation, errors=[error] if error else [])


class _Measure:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], limits: Limits):
        self.fragments = fragments
        self.limits = limits
        self._memo: dict[str, _Figures | None] = {}  # None: being measured
        self.cycle: str | None = None  # a fragment met again while being measured

    def check(self, operation: OperationDefinitionNode) -> GraphQLError | None:
        figures = self.selections(operation.selection_set)
        if self.cycle is not None:  # validation would refuse it; the walks below need no cycles
            return GraphQLError(f"Cannot spread fragment '{self.cycle}' within itself.")
        name = operation.name.value if operation.name else "anonymous"
        if figures.fields > self.limits.max_fields:
            return GraphQLError(
                f"'{name}' expands to {figures.fields} fields; at most {self.limits.max_fields} "
                "are allowed (fragments count each time they are spread)."
            )
        if figures.depth > self.limits.max_depth:
            return GraphQLError(
                f"'{name}' exceeds maximum operation depth of {self.limits.max_depth}",
                self._too_deep(operation.selection_set, 0),
            )
        if figures.aliases > self.limits.max_aliases:
            return GraphQLError(f"{figures.aliases} aliases found. Allowed: {self.limits.max_aliases}")
        repeated = self._repeats([operation.selection_set])
        if repeated is not None:
            key, count = repeated
            return GraphQLError(
                f"'{name}' selects '{key}' {count} times at one place; at most {self.limits.max_repeats} are allowed."
            )
        return None

    # figures, each fragment once ---------------------------------------------------------------
    def selections(self, selection_set: SelectionSetNode | None) -> _Figures:
        fields = depth = aliases = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below = self.selections(selection.selection_set)
                fields += 1 + below.fields
                aliases += below.aliases + (1 if selection.alias else 0)
                if selection.selection_set is not None and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + below.depth)
            else:
                inner = self.spread(selection)
                fields, aliases, depth = fields + inner.fields, aliases + inner.aliases, max(depth, inner.depth)
        return _Figures(fields, depth, aliases)

    def spread(self, selection) -> _Figures:
        if isinstance(selection, InlineFragmentNode):
            return self.selections(selection.selection_set)
        name = selection.name.value
        if name in self._memo:
            if self._memo[name] is None:
                self.cycle = self.cycle or name
            return self._memo[name] or _Figures(0, 0, 0)
        fragment = self.fragments.get(name)
        if fragment is None:
            return _Figures(0, 0, 0)  # validation reports the unknown fragment
        self._memo[name] = None
        figures = self.selections(fragment.selection_set)
        self._memo[name] = figures
        return figures

    def _too_deep(self, selection_set: SelectionSetNode | None, level: int) -> list[FieldNode]:
        """The first field beyond the depth limit, for the error's location (root fields are
        level 0)."""
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                if level > self.limits.max_depth:
                    return [selection]
                if (
                    selection.selection_set is not None
                    and level + 1 + self.selections(selection.selection_set).depth > self.limits.max_depth
                ):
                    return self._too_deep(selection.selection_set, level + 1)
            else:
                target = (
                    selection if isinstance(selection, InlineFragmentNode) else self.fragments.get(selection.name.value)
                )
                if target is not None and level + self.selections(target.selection_set).depth > self.limits.max_depth:
                    return self._too_deep(target.selection_set, level)
        return []

    # repeats, walking the (size-bounded, acyclic) expansion ---------------------------------------
    def _repeats(self, sets: list[SelectionSetNode]) -> tuple[str, int] | None:
        """Fields of these selection sets merged by response key, as execution merges them (a
        fragment spread twice into one place counts once, as in graphql-core)."""
        by_key: dict[str, list[FieldNode]] = {}
        counts: Counter[str] = Counter()
        pending, spread = list(sets), set()
        while pending:
            for selection in pending.pop().selections:
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    counts[key] += 1
                    if counts[key] > self.limits.max_repeats:
                        return key, counts[key]
                    by_key.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    pending.append(selection.selection_set)
                elif selection.name.value not in spread and selection.name.value in self.fragments:
                    spread.add(selection.name.value)
                    pending.append(self.fragments[selection.name.value].selection_set)
        for nodes in by_key.values():
            children = [n.selection_set for n in nodes if n.selection_set is not None]
            if children:
                found = self._repeats(children)
                if found is not None:
                    return found
        return None


class PreparedDocuments(SchemaExtension):
    """Strawberry's parse and validation steps over prepared documents: the parse comes from the
    cache, a document refused by its measure is answered with that refusal (validation is not
    run on it), and validation results are kept with the prepared document."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits

    def _prepared(self) -> Prepared | None:
        query = self.execution_context.query
        return prepare(query, self.execution_context.operation_name, self.limits) if query else None

    def on_parse(self):
        prepared = self._prepared()
        if prepared is not None and prepared.document is not None:
            self.execution_context.graphql_document = prepared.document
        else:  # strawberry parses again and reports the syntax error; the token limit still holds
            self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    def on_validate(self):
        context = self.execution_context
        prepared = self._prepared()
        if prepared is not None and context.graphql_document is prepared.document:
            if prepared.errors:
                context.pre_execution_errors = list(prepared.errors)
            else:
                key = ("validation", id(context.schema), tuple(context.validation_rules))
                if key not in prepared.memo:
                    prepared.memo[key] = validate_document(
                        context.schema._schema, prepared.document, context.validation_rules
                    )
                context.pre_execution_errors = list(prepared.memo[key])
        yield


def clear() -> None:
    _PARSED.clear()
    _PREPARED.clear()


__all__ = ["Limits", "Prepared", "prepare", "parsed", "MAX_FIELDS", "MAX_REPEATS"]

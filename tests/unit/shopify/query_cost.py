"""Shopify's documented requested-cost rule, computed from a query document (no schema needed).

https://shopify.dev/docs/api/usage/limits#query-cost-calculation (TECHNOTES.md "Query cost"):
scalar/enum fields cost 0, an object 1, a connection 2 + ``first`` x (cost of one node's
selection), a mutation 10. A field is a connection when it takes ``first``/``last``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
)

MUTATION_COST = 10
CONNECTION_BASE = 2
WRAPPERS = ("nodes", "edges")


class UnboundedConnection(ValueError):
    """A connection whose page size is not known (no first/last, or a variable we were not given)."""


def operations(document: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]


def requested_cost(document: str, sizes: Mapping[str, int]) -> int:
    """Cost of the document's single operation; ``sizes`` gives the value of each size variable."""
    (operation,) = operations(document)
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST
    return _selection_cost(operation.selection_set, sizes)


def _selection_cost(selection_set: SelectionSetNode | None, sizes: Mapping[str, int]) -> int:
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            total += _selection_cost(selection.selection_set, sizes)
        elif isinstance(selection, FragmentSpreadNode):
            raise ValueError("named fragments are not used by the app; extend query_cost.py if they are")
        elif isinstance(selection, FieldNode):
            total += _field_cost(selection, sizes)
    return total


def _field_cost(field: FieldNode, sizes: Mapping[str, int]) -> int:
    if field.selection_set is None:
        return 0
    name = field.name.value
    page = _page_size(field, sizes)
    if page is not None:
        return CONNECTION_BASE + page * _node_cost(field.selection_set, sizes)
    children = {s.name.value for s in field.selection_set.selections if isinstance(s, FieldNode)}
    if children & set(WRAPPERS):
        raise UnboundedConnection(f"connection {name!r} has no first/last")
    if name == "pageInfo":
        return 0  # part of the connection's base cost
    return 1 + _selection_cost(field.selection_set, sizes)


def _node_cost(connection: SelectionSetNode, sizes: Mapping[str, int]) -> int:
    """Cost of one node: what is selected under ``nodes`` or ``edges { node }`` (not the node itself)."""
    cost = 0
    for selection in connection.selections:
        if not isinstance(selection, FieldNode) or selection.selection_set is None:
            continue
        if selection.name.value == "nodes":
            cost = max(cost, _selection_cost(selection.selection_set, sizes))
        elif selection.name.value == "edges":
            for edge_field in selection.selection_set.selections:
                if isinstance(edge_field, FieldNode) and edge_field.name.value == "node":
                    cost = max(cost, _selection_cost(edge_field.selection_set, sizes))
    return cost


def _page_size(field: FieldNode, sizes: Mapping[str, int]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value: Any = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            if value.name.value not in sizes:
                raise UnboundedConnection(f"connection {field.name.value!r} takes ${value.name.value}, "
                                          "whose value the test was not given")
            return int(sizes[value.name.value])
    return None

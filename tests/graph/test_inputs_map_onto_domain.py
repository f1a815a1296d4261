"""Every input that becomes a domain object has exactly the domain type's field names (no rename
tables): checked over all inputs that declare ``to_domain``."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

import graph.segments.inputs as segment_inputs


def inputs_with_domain_types():
    for name, cls in vars(segment_inputs).items():
        if inspect.isclass(cls) and hasattr(cls, "__strawberry_definition__") and hasattr(cls, "to_domain"):
            target = typing.get_type_hints(cls.to_domain, vars(segment_inputs))["return"]
            if dataclasses.is_dataclass(target):
                yield pytest.param(cls, target, id=name)


@pytest.mark.parametrize(("input_type", "domain_type"), list(inputs_with_domain_types()))
def test_input_fields_are_the_domain_fields(input_type, domain_type):
    given = {f.python_name for f in input_type.__strawberry_definition__.fields}
    domain = {f.name for f in dataclasses.fields(domain_type)}
    assert given <= domain, f"{input_type.__name__} has {sorted(given - domain)}, which {domain_type.__name__} has not"
    assert domain - given <= {"kind"}, f"{domain_type.__name__}'s {sorted(domain - given)} cannot be given"


def test_there_are_many_such_inputs():
    assert len(list(inputs_with_domain_types())) >= 16

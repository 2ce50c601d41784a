"""Typed JSON records: frozen dataclasses read from a JSON object field by field, and written back.

The machinery under the model card (`cards.ModelCard` and its parts): reading checks each
field's type from its annotation and names the first wrong one in a `FieldError`, so a
malformed card is refused in one sentence; writing leaves out fields that are None.
"""

import copy
import dataclasses
import functools
import types
import typing

# What a reader is told a field should be, by its type.
_EXPECTED = {str: "a string", int: "a whole number", float: "a number", bool: "true or false", dict: "an object",
             types.NoneType: "null"}


class FieldError(ValueError):
    """A card field of the wrong type or value; `path` names it (e.g. `input.shape`), `expected` says what it must be."""

    def __init__(self, path, expected):
        super().__init__(f"{path} must be {expected}.")
        self.path, self.expected = path, expected

    def under(self, parent):
        """Returns the same error with its path inside the record at `parent`."""
        return FieldError(f"{parent}.{self.path}" if parent else self.path, self.expected)


class MissingFields(ValueError):
    """Required card fields that are absent, by path."""

    def __init__(self, paths):
        super().__init__(f"required fields are missing: {', '.join(paths)}.")
        self.paths = tuple(paths)


class Record:
    """What every part of a card shares: reading from and writing to its JSON object.

    Our own few lines rather than pydantic (only Ray's optional extra installs it): a refusal
    is one sentence naming the field, and a shipped card is written back byte for byte.
    """

    # Fields written even when None: a JSON reader can count on them (e.g. `"test_accuracy": null`).
    _ALWAYS_WRITTEN = ()
    # Fields left out while they hold their default, so cards written before the field existed round-trip.
    _LEFT_OUT_AT_DEFAULT = ()

    @classmethod
    def _read(cls, values, where=""):
        """Returns the record read from a JSON object, keys it does not know ignored.

        Raises:
            FieldError: for a value of the wrong type, or one the record's checks refuse.
            MissingFields: for required fields that are absent.
        """
        if not isinstance(values, dict):
            raise FieldError(where or "the card", "an object")
        fields, missing = {}, []
        for name, kind, required in _field_kinds(cls):
            path = f"{where}.{name}" if where else name
            if name in values:
                fields[name] = _read_value(values[name], kind, path)
            elif required:
                missing.append(path)
        if missing:
            raise MissingFields(missing)
        try:
            return cls(**fields)
        except FieldError as error:
            raise error.under(where) from None

    def to_json(self):
        """Returns the record as a JSON-ready dict, in field order; fields that are None are left out."""
        values = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in self._LEFT_OUT_AT_DEFAULT and value == field.default:
                continue
            if value is not None or field.name in self._ALWAYS_WRITTEN:
                values[field.name] = _json_value(value)
        return values


@functools.cache
def _field_kinds(record_type):
    """Returns `(name, type, required)` for each field of a record type (resolving type hints costs ~0.4 ms)."""
    hints = typing.get_type_hints(record_type)
    return tuple((field.name, hints[field.name], field.default is dataclasses.MISSING)
                 for field in dataclasses.fields(record_type))


def _read_value(value, kind, path):
    """Returns a JSON value as the field type `kind` (lists become tuples, objects records); raises FieldError."""
    if isinstance(kind, types.UnionType):
        options = [option for option in typing.get_args(kind) if option is not types.NoneType]
        if value is None and len(options) < len(typing.get_args(kind)):
            return None
        if len(options) == 1:  # X | None: X's own error, which names the field inside a record.
            return _read_value(value, options[0], path)
        for option in options:
            try:
                return _read_value(value, option, path)
            except FieldError:
                continue
        raise FieldError(path, " or ".join(_describe(option) for option in options))
    if isinstance(kind, type) and issubclass(kind, Record):
        return kind._read(value, path)
    if typing.get_origin(kind) is tuple:  # tuple[X, ...]: a JSON list of X.
        if not isinstance(value, list | tuple):
            raise FieldError(path, _describe(kind))
        item_kind = typing.get_args(kind)[0]
        if item_kind is str and all(type(item) is str for item in value):
            return tuple(value)  # The common case (1,000 class names), without a call per item.
        return tuple(_read_value(item, item_kind, f"{path}[{index}]") for index, item in enumerate(value))
    # bool is an int to Python, but true is not a number in a card.
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return value  # An int stays an int, so a card round-trips exactly.
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (str, bool, dict, types.NoneType) and isinstance(value, kind):
        return copy.deepcopy(value) if kind is dict else value
    raise FieldError(path, _describe(kind))


def _describe(kind):
    if typing.get_origin(kind) is tuple:
        item = _describe(typing.get_args(kind)[0])
        return f"a list of {item.removeprefix('a ').removeprefix('an ')}s"
    if isinstance(kind, type) and issubclass(kind, Record):
        return "an object"
    return _EXPECTED.get(kind, getattr(kind, "__name__", str(kind)))


def _json_value(value):
    if isinstance(value, Record):
        return value.to_json()
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return copy.deepcopy(value) if isinstance(value, dict | list) else value

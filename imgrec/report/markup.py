"""HTML and SVG built from Python calls, with every text escaped unless it is markup built here.

`Html` marks a string as markup; `element` escapes every child and attribute value that is
not `Html` (through `html.escape`), so a class name, a file name or a model name from a user
can never open a tag. Written here rather than with Jinja2: the report's texts live in
`report.text`, one function each, and the markup is a few nested calls, not templates.

Example:

>>> str(element("td", "<script>", class_="name"))
'<td class="name">&lt;script&gt;</td>'
"""

import base64
import html

# Void elements have no closing tag in HTML.
_VOID = frozenset({"area", "br", "col", "hr", "img", "meta", "wbr"})
# SVG elements written empty (self-closed) when they have no children.
_SELF_CLOSING = frozenset({"circle", "line", "path", "polyline", "rect", "stop"})


class Html(str):
    """A string of markup that `element` and `join` insert as it is (not escaped again)."""

    __slots__ = ()


def escape(value):
    """Returns `value` as HTML text: `Html` as it is, anything else as escaped text (quotes too)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def join(children, separator=""):
    """Returns the children (text or `Html`, `None` skipped) as one piece of markup."""
    return Html(escape(separator).join(escape(child) for child in children if child is not None))


def element(tag, *children, **attributes):
    """Returns one element as `Html`; text children and attribute values are escaped.

    Args:
        tag: the element's name, e.g. "td" or "rect".
        *children: text, `Html`, numbers or `None` (skipped), in order.
        **attributes: the attributes; a trailing underscore is dropped (`class_` is "class"),
            other underscores become dashes (`font_size` is "font-size"); `None` or `False`
            leaves the attribute out and `True` writes it without a value.

    Returns:
        `Html`.
    """
    parts = [tag]
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        parts.append(name if value is True else f'{name}="{escape(_number_text(value))}"')
    opening = "<" + " ".join(parts)
    if tag in _VOID:
        return Html(opening + ">")
    content = join(_number_text(child) for child in children if child is not None)
    if not content and tag in _SELF_CLOSING:
        return Html(opening + "/>")
    return Html(f"{opening}>{content}</{tag}>")


def _number_text(value):
    # Coordinates to two decimals: a hundredth of a pixel is finer than any screen or printer,
    # and it keeps a chart of a thousand points to a few kilobytes.
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return value


def data_url(data, mime):
    """Returns bytes as a `data:` URL, so an image travels inside the page and no server is asked for it."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

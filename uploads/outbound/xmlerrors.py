"""XML error answers from remote services (S3-style ``<Error><Code>…</Code><Message>…</Message>``), read safely.

The storage behind a signed URL answers a refused PUT in XML. The body comes from a server we do
not control, so it is parsed with defusedxml: no entity expansion (billion laughs), no external
entities or DTDs, no network access. A body that is hostile or not well formed becomes a short,
readable sentence for the attempt's error; it never raises.
"""

import html
import re
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

__all__ = ["XmlError", "looks_like_xml", "read_xml_error", "read_xml_excerpt"]

# Enough for any real error document; a longer one is not parsed at all.
MAX_XML_BYTES = 64 * 1024
FIELD_CHARS = 300
# In an excerpt cut off before its end: the elements, matched as text (nothing is expanded).
EXCERPT_FIELDS = {name: re.compile(rf"<(?:\w+:)?{name}>([^<]*)</(?:\w+:)?{name}>") for name in ("Code", "Message")}


@dataclass(frozen=True)
class XmlError:
    """What an XML error answer says: its Code and Message, or why it could not be read (``problem``)."""

    code: str = ""
    message: str = ""
    problem: str = ""

    def sentence(self):
        """One readable line: 'SignatureDoesNotMatch: The request signature …', or the problem."""
        if self.problem:
            return self.problem
        return ": ".join(part for part in (self.code, self.message) if part) or "an XML error without a code"


def looks_like_xml(response):
    """Whether an answer is XML, by its Content-Type or its first character."""
    content_type = (response.headers.get("Content-Type") or "").lower()
    if "xml" in content_type:
        return True
    return response.content[:64].lstrip().startswith(b"<")


def read_xml_error(body):
    """An :class:`XmlError` from the bytes of an XML error answer; never raises."""
    if len(body) > MAX_XML_BYTES:
        return XmlError(problem=f"the XML error answer is over {MAX_XML_BYTES:,} bytes; not read")
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        return XmlError(problem=f"the XML error answer was refused as unsafe ({_unsafe_reason(exc)}); not read")
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        where = f" at line {line}, column {column + 1}" if line is not None else ""
        return XmlError(problem=f"the error answer is not well-formed XML{where}")
    except (ValueError, UnicodeError):
        return XmlError(problem="the error answer is not readable XML")
    return XmlError(code=_child_text(root, "Code"), message=_child_text(root, "Message"))


def _child_text(root, name):
    # S3 has no namespace on <Error>; other stores may: match on the local name.
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == name:
            return " ".join((element.text or "").split())[:FIELD_CHARS]
    return ""


def _unsafe_reason(exc):
    name = type(exc).__name__
    return {
        "DTDForbidden": "it declares a DTD",
        "EntitiesForbidden": "it declares entities",
        "ExternalReferenceForbidden": "it refers to an external resource",
        "NotSupportedError": "it uses an XML feature that is not supported",
    }.get(name, name)


def read_xml_excerpt(text):
    """What the stored start of an XML error answer says (an :class:`XmlError`), or None if it is not one.

    An attempt keeps only the first characters of an answer, so the document may be cut off: then
    its Code and Message are found as text (entities are not expanded, only the five of XML read).
    """
    if not text.lstrip().startswith("<"):
        return None
    error = read_xml_error(text.encode("utf-8"))
    if error.code or error.message:
        return error
    found = {name: pattern.search(text) for name, pattern in EXCERPT_FIELDS.items()}
    if not any(found.values()):
        return None
    code, message = (_text(found[name].group(1)) if found[name] else "" for name in ("Code", "Message"))
    return XmlError(code=code, message=message)


def _text(raw):
    # html.unescape reads the five XML entities (and numeric ones); it never expands a declared entity.
    return " ".join(html.unescape(raw).split())[:FIELD_CHARS]

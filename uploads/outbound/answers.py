"""What an answer says, in one line a person can read: an XML, JSON or HTML error, or a body that
should have been JSON and is not.

Services answer errors in their own shape (S3's XML, a JSON object with a message or a FastAPI
``detail``), and a proxy in front of them answers with an HTML page. Stored errors and run
summaries get one readable line from these, never the markup or a raw JSON document.
"""

import html
import json
import re

from uploads.outbound.xmlerrors import looks_like_xml, read_xml_error

__all__ = ["error_sentence", "html_summary", "is_html", "not_json", "parses_as_json"]

SENTENCE_CHARS = 300
TITLE_CHARS = 120
# The head of a page is enough to find its title.
HTML_HEAD_BYTES = 64 * 1024
# Fields that carry the message of a JSON error, in the order they are looked for.
JSON_MESSAGE_FIELDS = ("message", "detail", "error_description", "error")
TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
HEADING = re.compile(rb"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<[^>]*>")


def is_html(response):
    """Whether an answer is an HTML page (a proxy's or a login page), by its type or its first bytes."""
    content_type = (response.headers.get("Content-Type") or "").lower()
    if "html" in content_type:
        return True
    start = response.content[:64].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def html_summary(response):
    """'an HTML page titled "502 Bad Gateway" (1,024 bytes)': what the page is, not the page."""
    head = response.content[:HTML_HEAD_BYTES]
    found = TITLE.search(head) or HEADING.search(head)
    size = f"{len(response.content):,} bytes"
    if found is None:
        return f"an HTML page without a title ({size})"
    text = TAG.sub(" ", found.group(1).decode("utf-8", "replace"))
    title = " ".join(html.unescape(text).split())[:TITLE_CHARS]
    title = title.replace("<", "").replace(">", "").replace("{", "").replace("}", "")
    return f'an HTML page titled "{title}" ({size})' if title else f"an HTML page without a title ({size})"


def parses_as_json(response):
    try:
        response.json()
    except ValueError:
        return False
    return True


def not_json(response):
    """Why an answer that should be JSON is not, in words."""
    if is_html(response):
        return f"the answer is not valid JSON: it is {html_summary(response)}"
    if not response.content:
        return "the answer is not valid JSON: it is empty"
    return f"the answer is not valid JSON ({len(response.content):,} bytes, cut off or malformed)"


def error_sentence(response):
    """The one readable line an error answer carries (its message, or what kind of page it is), or ""."""
    if not response.content:
        return ""
    if is_html(response):
        return html_summary(response)
    if looks_like_xml(response):
        return read_xml_error(response.content).sentence()
    return _json_message(response)


def _json_message(response):
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeError):
        return ""
    if not isinstance(payload, dict):
        return ""
    for name in JSON_MESSAGE_FIELDS:
        value = payload.get(name)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:SENTENCE_CHARS]
        if isinstance(value, list):  # FastAPI's validation errors: [{"loc": [...], "msg": "..."}]
            problems = [_problem(item) for item in value if isinstance(item, dict) and item.get("msg")]
            if problems:
                return "; ".join(problems)[:SENTENCE_CHARS]
    return ""


def _problem(item):
    where = ".".join(str(part) for part in item.get("loc") or () if part != "body")
    return f"{where}: {item['msg']}" if where else str(item["msg"])

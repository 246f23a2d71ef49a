"""Previewed spreadsheets waiting for their confirmation, kept on the server, found by a random token.

The preview step stores the file in a private directory under MEDIA_ROOT (never served)
under a random name, and a ``SpreadsheetPreview`` row binds a random token to the user who
made the preview. The confirm form carries only the token: the browser never names a file,
so a path, another user's token or a stale token is refused before anything is read or
deleted. Previews expire after ``SPREADSHEET_PREVIEW_TTL_SECONDS``; expired ones and their
files are deleted whenever a token is looked up and by ``clean_previews`` (the
``clean_spreadsheet_previews`` command, and the worker's hourly schedule).
"""

import hashlib
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portfolio.models import ImportRecord, SpreadsheetPreview

__all__ = [
    "PREVIEW_DIR",
    "PreviewRefused",
    "clean_previews",
    "create_preview",
    "discard_preview",
    "find_preview",
    "preview_path",
    "take_preview",
]

# Below MEDIA_ROOT, which is never served; the file names are random, not the upload's.
PREVIEW_DIR = "private/spreadsheet-previews"
# What secrets.token_urlsafe(32) makes: 43 URL-safe characters.
TOKEN_BYTES = 32
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


class PreviewRefused(Exception):
    """The confirmation cannot go ahead; the message says why, for the person who sent it."""


def _directory():
    return Path(settings.MEDIA_ROOT) / PREVIEW_DIR


def _ttl_text():
    seconds = settings.SPREADSHEET_PREVIEW_TTL_SECONDS
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def preview_path(preview):
    """Where the preview's file is: always inside the private directory, whatever the row says."""
    return _directory() / Path(preview.stored_as).name


def storage_name(preview):
    """The file's name relative to MEDIA_ROOT, as an ImportRecord's ``upload`` keeps it."""
    return f"{PREVIEW_DIR}/{Path(preview.stored_as).name}"


def create_preview(*, user, target, model, file_name, data, in_worker=False):
    """Keep ``data`` (a previewed file's bytes) for ``user`` to confirm; return the SpreadsheetPreview."""
    directory = _directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stored_as = f"{secrets.token_hex(16)}.upload"
    # Readable by this account only; never overwrites (the name is new).
    descriptor = os.open(directory / stored_as, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(data)
    now = timezone.now()
    return SpreadsheetPreview.objects.create(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        user=user,
        target=target,
        model=model,
        file_name=file_name[: SpreadsheetPreview._meta.get_field("file_name").max_length],
        file_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        stored_as=stored_as,
        in_worker=in_worker,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SPREADSHEET_PREVIEW_TTL_SECONDS),
    )


def discard_preview(preview):
    """Delete a preview and its file."""
    preview_path(preview).unlink(missing_ok=True)
    SpreadsheetPreview.objects.filter(pk=preview.pk).delete()


def find_preview(token, user):
    """The preview ``token`` names, when ``user`` may confirm it now; else PreviewRefused.

    Nothing is read or deleted for a refused token, except an expired preview (deleted, as
    the cleanup would).
    """
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise PreviewRefused(
            "This confirmation is refused: it does not carry a preview token (a file name or path is never "
            "accepted). Upload the file again."
        )
    preview = SpreadsheetPreview.objects.filter(token=token).first()
    if preview is None:
        raise PreviewRefused(
            "This preview is no longer on the server: it was confirmed already, or it expired and was deleted "
            f"(previews are kept {_ttl_text()}, SPREADSHEET_PREVIEW_TTL_SECONDS). Upload the file again."
        )
    if preview.is_expired:
        discard_preview(preview)
        raise PreviewRefused(
            f"This preview expired at {timezone.localtime(preview.expires_at):%Y-%m-%d %H:%M} {settings.TIME_ZONE} "
            f"(previews are kept {_ttl_text()}, SPREADSHEET_PREVIEW_TTL_SECONDS) and was deleted. "
            "Upload the file again."
        )
    if preview.user_id != user.pk:
        raise PreviewRefused(
            "This preview belongs to another user: only the person who previewed a file may confirm it. "
            "Upload the file yourself."
        )
    return preview


def take_preview(preview):
    """Claim a found preview for its confirmation, once: its row is deleted, its file stays for the import.

    A second confirmation of the same preview (a double click, a resent form) is refused.
    """
    with transaction.atomic():
        claimed, _ = SpreadsheetPreview.objects.filter(pk=preview.pk).delete()
    if not claimed:
        raise PreviewRefused("This preview was confirmed already; its import is in the import records.")
    path = preview_path(preview)
    if not path.exists():
        raise PreviewRefused("The previewed file is no longer on the server; upload it again.")
    return path


def clean_previews(now=None):
    """Delete expired previews with their files, and files nothing refers to; return how many of each.

    A file is kept while a preview or a queued or running import (its ``upload``) refers to
    it; a file without either is deleted once it is older than the preview lifetime (a
    request that stopped between writing the file and recording it).
    """
    now = now or timezone.now()
    expired = list(SpreadsheetPreview.objects.filter(expires_at__lte=now))
    for preview in expired:
        discard_preview(preview)
    directory = _directory()
    if not directory.is_dir():
        return len(expired), 0
    kept = set(SpreadsheetPreview.objects.values_list("stored_as", flat=True))
    kept |= {
        Path(name).name
        for name in ImportRecord.objects.filter(
            upload__startswith=f"{PREVIEW_DIR}/", status__in=[ImportRecord.Status.QUEUED, ImportRecord.Status.RUNNING]
        ).values_list("upload", flat=True)
    }
    oldest = time.time() - settings.SPREADSHEET_PREVIEW_TTL_SECONDS
    orphans = 0
    for path in directory.iterdir():
        if path.is_file() and path.name not in kept and path.stat().st_mtime < oldest:
            path.unlink(missing_ok=True)
            orphans += 1
    return len(expired), orphans

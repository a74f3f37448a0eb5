"""Evidence files: accepted by what their content is, never by their name or declared type."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The three kinds people send (a payslip or benefit letter as a PDF or a photo), by their
# signatures. Three fixed prefixes are clearer than a file-type library's hundreds.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def max_evidence_bytes() -> int:
    return int(settings.CONFIDE_SUPPORT_EVIDENCE_MAX_BYTES)


def sniff_content_type(content: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def too_large_message() -> str:
    megabytes = max_evidence_bytes() / (1024 * 1024)
    return str(_("The selected file must be smaller than %(size)s MB")) % {"size": f"{megabytes:g}"}


def check_evidence(content: bytes) -> str:
    """The file's content type, or ValidationError (for the `evidence` field)."""
    if not content:
        raise ValidationError({"evidence": [_("The selected file is empty")]})
    if len(content) > max_evidence_bytes():
        raise ValidationError({"evidence": [too_large_message()]})
    content_type = sniff_content_type(content)
    if content_type is None:
        raise ValidationError({"evidence": [_("The selected file must be a PDF, PNG or JPG")]})
    return content_type

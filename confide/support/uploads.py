"""Evidence uploads held in memory only, up to the size limit, so no plaintext file is ever
written to disk: Django's default handler writes uploads over 2.5 MB to a temporary file."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class BoundedMemoryUploadHandler(FileUploadHandler):
    """Keeps each file in memory; a file over `limit` bytes is dropped (and `too_large` set)
    as soon as it passes the limit, without reading the rest into memory."""

    def __init__(self, request: Any, *, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.too_large = False
        self.buffer = io.BytesIO()

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if start + len(raw_data) > self.limit:
            self.too_large = True
            self.buffer = io.BytesIO()
            raise SkipFile
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> InMemoryUploadedFile:
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer,
            field_name=self.field_name,
            name="evidence",  # the person's file name is not kept: it may name them
            content_type="application/octet-stream",
            size=file_size,
            charset=None,
            content_type_extra=self.content_type_extra,
        )

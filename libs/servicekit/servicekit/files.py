"""Files citizens and officers hand in (uploads, results): recognised by content, stored by id outside the DB.

The type comes from the bytes (the `filetype` library reads the magic numbers), never from the file name
or the declared Content-Type, so a renamed executable is refused whatever it calls itself.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass

import filetype

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
DOCUMENT_TYPES = (PDF, JPEG, PNG)


def sniff(content: bytes) -> str | None:
    """The MIME type the content really has, or None when nothing is recognised."""
    kind = filetype.guess(content[:8192])
    return kind.mime if kind is not None else None


@dataclass(frozen=True)
class StoredFile:
    id: str
    sha256: str
    size: int
    content_type: str
    path: str


class FileStore:
    """Files under one directory, each named by an unguessable id (no name or path from outside is used)."""

    def __init__(self, directory: str):
        self.directory = os.path.abspath(directory)

    def path_of(self, file_id: str) -> str:
        if not file_id.isalnum():  # ids are ours (hex); anything else never reaches the file system
            raise ValueError("invalid file id")
        return os.path.join(self.directory, file_id[:2], file_id)

    def save(self, content: bytes, content_type: str) -> StoredFile:
        file_id = secrets.token_hex(16)
        path = self.path_of(file_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.part"
        with open(tmp, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)  # never a half-written file under the final name
        return StoredFile(file_id, hashlib.sha256(content).hexdigest(), len(content), content_type, path)

    def read(self, file_id: str) -> bytes:
        with open(self.path_of(file_id), "rb") as f:
            return f.read()

    def delete(self, file_id: str) -> None:
        try:
            os.remove(self.path_of(file_id))
        except FileNotFoundError:
            pass


def vietnamese_font(bold: bool = False) -> str:
    """A TrueType font that shows every Vietnamese letter (DejaVu Sans, shipped inside matplotlib's data)."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)

"""Audio guides: what a file really is (by its first bytes, never its name), and the
byte ranges a phone asks for when it seeks."""

import re
from dataclasses import dataclass

from django.core.files.storage import Storage, storages

# (content type, file extension) by what the file starts with.
WAV = ("audio/wav", "wav")
OGG = ("audio/ogg", "ogg")
MP3 = ("audio/mpeg", "mp3")
M4A = ("audio/mp4", "m4a")
AUDIO_TYPES = {WAV[0], OGG[0], MP3[0], M4A[0]}
# The ISO base media brands of audio files (M4A, M4B) and of the generic containers
# phones record voice memos in.
M4A_BRANDS = {b"M4A ", b"M4B ", b"mp42", b"mp41", b"isom", b"iso2", b"3gp4", b"3gp5", b"dash"}


def audio_storage() -> Storage:
    """The store audio guides live in (settings.STORAGES["audio"])."""
    return storages["audio"]


def audio_kind(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an audio file from its first bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"OggS":
        return OGG
    if head[4:8] == b"ftyp" and head[8:12] in M4A_BRANDS:
        return M4A
    if head[:3] == b"ID3":
        return MP3
    # An MPEG audio frame header: 11 sync bits, a valid version and layer III.
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
        if version != 0b01 and layer == 0b01:
            return MP3
    return None


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(Exception):
    pass


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> ByteRange | None:
    """The one range a Range header asks for, None for the whole file (no header, a
    header we do not parse, or several ranges: the whole file is a valid answer to those).

    Raises RangeNotSatisfiable for a range that lies outside the file.
    """
    match = _RANGE.match(header.strip()) if header else None
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable
    return ByteRange(start, end)

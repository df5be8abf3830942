"""Saving an uploaded file whole or not at all.

Django's storages leave what they had written when a write fails half-way (a full disk,
a store that went away): `storage_save` removes it again and raises one error the
services turn into a message for the person uploading. Nothing of the file's content is
logged, only what kind of failure it was.
"""

import contextlib
import errno
import logging

from django.core.files.base import File
from django.core.files.storage import Storage

logger = logging.getLogger(__name__)


class StorageUnavailableError(Exception):
    """The file could not be stored (disk full, store unreachable); nothing of it is left."""


def storage_save(storage: Storage, name: str, content: File) -> str:
    """`storage.save(name, content)`, leaving no partial file behind if it fails.

    `name` must be one nothing else uses (the callers make random names), so a file found
    under it after a failure is this call's own half-written one.
    """
    try:
        return storage.save(name, content)
    except Exception as error:
        code = errno.errorcode.get(getattr(error, "errno", None) or 0, "")
        logger.error(
            "Storage could not save a file (%s%s); nothing was kept",
            type(error).__name__,
            f" {code}" if code else "",
        )
        # The store may be unreachable for the clean-up too: then there is nothing to remove.
        with contextlib.suppress(Exception):
            if storage.exists(name):
                storage.delete(name)
        raise StorageUnavailableError from error

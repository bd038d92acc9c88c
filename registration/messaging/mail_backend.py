"""Emails written as files in OUTBOX_DIR, the quick start's mailer: nothing leaves the machine."""

import os

from django.core.mail.backends import filebased


class OutboxEmailBackend(filebased.EmailBackend):
    """Django's file mailer, each file readable by the app's user alone (0600, not the umask's 0644).

    A welcome email holds a PIN, an account email a link that signs its reader in to a step.
    """

    def open(self):
        if self.stream is not None:
            return False
        descriptor = os.open(self._get_filename(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.stream = os.fdopen(descriptor, "ab")
        return True

"""newsbot: the Telegram side."""

import os

# Opt in to python-telegram-bot 22's timedelta values (the coming default), which also
# silences its deprecation warning when a RetryAfter is built.
os.environ.setdefault("PTB_TIMEDELTA", "true")

"""The ``newsbot`` command's entry point, which imports the CLI only when it runs.

An import parses files in processes of its own, and each of them runs the command's
script again (``multiprocessing`` starts them so) before it parses anything: with
the CLI imported here at the top, every one of them would load the whole bot first.
"""

from __future__ import annotations


def main() -> int:
    """Run the CLI (``bot.__main__``); its exit status."""
    from bot.__main__ import main as cli

    return cli()

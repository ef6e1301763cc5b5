"""``dailyml serve dashboard``: run the Streamlit script headless on a host and port."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from dailyml.settings import DEFAULT_PORTS

SCRIPT = Path(__file__).with_name("app.py")


def command(host: str, port: int) -> list[str]:
    """The ``streamlit run`` command line for the dashboard."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(SCRIPT),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "viewer",
        "--theme.primaryColor",
        "#6f5fd8",
    ]


def main(host: str = "127.0.0.1", port: int = DEFAULT_PORTS["dashboard"]) -> None:
    """Replace this process with Streamlit, so a stop signal reaches the server itself (no
    orphaned child when ``dailyml serve dashboard`` is terminated)."""
    argv = command(host, port)
    os.execv(argv[0], argv)


if __name__ == "__main__":
    main()

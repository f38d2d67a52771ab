"""Properties posthog-python 7 takes from the process's environment.

posthog-python adds the interpreter and operating system to every ``capture``
(``$python_runtime``, ``$python_version``, ``$os``, ``$os_version`` and, on
Linux, ``$os_distro``) and ``$release_id`` from ``POSTHOG_RELEASE_ID`` to
every event. The compatible client adds the same, so dashboards broken down by
them keep working after the switch. All of it is read once, when a client is
built (on Linux the distribution comes from ``/etc/os-release``), never on the
thread that captures.
"""

from __future__ import annotations

import functools
import os
import platform
import sys
from types import MappingProxyType
from typing import Final

#: The variable posthog-python reads its release id from.
RELEASE_ID_VARIABLE: Final = "POSTHOG_RELEASE_ID"


def release_id() -> str | None:
    """``POSTHOG_RELEASE_ID`` trimmed; blank or unset means none, as in posthog-python."""
    value = os.environ.get(RELEASE_ID_VARIABLE)
    return (value.strip() or None) if value is not None else None


@functools.cache
def system_context() -> MappingProxyType[str, str]:
    """The interpreter and operating system, as posthog-python names them."""
    name, version, distro = _operating_system()
    context = {
        "$python_runtime": platform.python_implementation(),
        "$python_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "$os": name,
        "$os_version": version,
    }
    if distro:
        context["$os_distro"] = distro
    return MappingProxyType(context)


def _operating_system() -> tuple[str, str, str]:
    system = sys.platform
    try:
        if system.startswith("win"):
            return "Windows", platform.win32_ver()[0] or "", ""
        if system == "darwin":
            return "Mac OS X", platform.mac_ver()[0] or "", ""
        if system.startswith("linux"):
            try:
                release = platform.freedesktop_os_release()
            except OSError:
                return "Linux", "", ""
            return "Linux", release.get("VERSION_ID", ""), release.get("NAME", "")
        if system.startswith("freebsd"):
            return "FreeBSD", platform.release(), ""
        return system, platform.release(), ""
    except Exception:  # a platform probe must not stop a client being built
        return system, "", ""

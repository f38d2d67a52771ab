"""pytest plugin: the ``analytics_recorder`` fixture, registered by entry point.

Installed with the package (``pytest11`` entry point ``multica_db_analytics``),
so a service's tests can ask for ``analytics_recorder`` without a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from multica_db.analytics.testing import RecordingClient


@pytest.fixture
def analytics_recorder() -> Iterator[RecordingClient]:
    """A fresh :class:`RecordingClient`; the test fails if production would drop an event.

    Call ``analytics_recorder.expect_dropped("unserialisable")`` in a test that
    means to produce such events.
    """
    recorder = RecordingClient()
    yield recorder
    recorder.close()
    recorder.assert_nothing_dropped()

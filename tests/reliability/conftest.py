"""Reliability fixtures: outages made on purpose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import Database
from tests.support.switch import Switch


@pytest.fixture
def database_switch(postgres_db: Database) -> Iterator[Switch]:
    """A switch in front of ``postgres_db``'s server: connect through ``switch.route(url)``, and
    ``off()`` is a database outage for that connection only."""
    port = make_url(postgres_db.url).port
    assert port is not None
    switch = Switch(port)
    switch.on()
    yield switch
    switch.off()

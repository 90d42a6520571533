"""The Elasticsearch client path's security options against a real Elasticsearch node with its
security on (a second local 7.17 node on port 9202, started and stopped here): basic auth,
API keys, and the errors a wrong or missing credential gives. (OpenSearch runners have no
security plugin, so these options are tested on Elasticsearch only.)"""
from __future__ import annotations

import pytest
from pydantic import SecretStr

from conftest import REPO, _unavailable
from engines import selected
from pipeline.index.engine import SearchEngine
from pipeline.errors import EngineError, ServiceError
from pipeline.settings import Settings

USER, PASSWORD = "wirewatch-test", "s3cret-pw-Zq"
pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def secured(settings):
    """Settings pointing at a secured local Elasticsearch node (basic auth as USER)."""
    if "elasticsearch-7.17" not in selected():
        pytest.skip("elasticsearch-7.17 is not among WIREWATCH_TEST_ENGINES")
    from wirewatch.devtools.services.elasticsearch_node import LocalElasticsearch

    s = Settings(search_engine="elasticsearch", elasticsearch_port=9202, elasticsearch_security=True,
                 search_username=USER, search_password=PASSWORD, state_dir=REPO / ".wirewatch" / "es-security",
                 index_prefix=f"{settings.index_prefix}-sec", index_replicas=0)
    node = LocalElasticsearch(s)
    try:
        node.up()
    except ServiceError as exc:
        _unavailable("secured Elasticsearch", str(exc)[:2000])
    yield s
    node.down()


def test_basic_auth_reaches_the_node_and_the_whole_client_path_works(secured):
    from wirewatch.devtools.services import status

    with SearchEngine.from_settings(secured) as eng:
        assert eng.info()["version"]["number"].startswith("7.17")
        eng.ensure_setup()
        idx = eng.alias("searches")
        eng.bulk([{"index": {"_index": idx, "_id": "q"}}, {"query": {"query_string": {"query": "body.exact:crossing*"}},
                                                          "search": {"id": "q", "enabled": True}}], refresh=True)
        assert [[h["_id"] for h in hits] for hits in eng.percolate([{"body": "a crossing"}, {"body": "none"}])] == [["q"], []]
        eng.delete_all()
    row = next(r for r in status(secured) if r.name == "elasticsearch")
    assert (row.state, row.product, row.version) == ("running", "elasticsearch", "7.17.29")


def test_a_wrong_or_missing_credential_is_a_permanent_error_without_the_secret(secured):
    for update in ({"search_password": SecretStr("not-the-password")}, {"search_username": None, "search_password": None}):
        with SearchEngine.from_settings(secured.model_copy(update=update)) as eng:
            with pytest.raises(EngineError) as info:
                eng.ensure_setup()
        assert info.value.status == 401 and info.value.transient is False
        assert "authenticat" in str(info.value) and PASSWORD not in str(info.value) and "not-the-password" not in str(info.value)
        assert eng.ping() is False


def test_an_api_key_is_sent_as_an_api_key(secured):
    """``search_api_key`` alone reaches the node as ``Authorization: ApiKey``: the node looks the
    key up and refuses one it never issued. (Issuing keys needs the ``.security`` index, whose
    mapping uses the analysis-common module the integ-test node lacks, so a key that works cannot
    be made here.)"""
    import base64

    key = base64.b64encode(b"no-such-id:no-such-key").decode()
    with SearchEngine.from_settings(secured.model_copy(update={"search_username": None, "search_password": None,
                                                               "search_api_key": SecretStr(key)})) as eng:
        with pytest.raises(EngineError) as info:
            eng.health()
    assert info.value.status == 401 and info.value.transient is False and key not in str(info.value)
    assert "api" in str(info.value).lower() or "authenticat" in str(info.value), str(info.value)

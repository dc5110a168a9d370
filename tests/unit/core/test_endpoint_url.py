"""One rule for what COS_ENDPOINT (the function) and --endpoint (the CLI) may hold."""

import pytest

from picops.ci_client import env_problems, is_endpoint_url

GOOD = ["http://127.0.0.1:9000", "http://127.0.0.1:9000/", "https://localhost", "http://[::1]:9000"]
BAD = ["127.0.0.1:9000", "ftp://127.0.0.1", "http://", "http://127.0.0.1:0",
       "http://127.0.0.1:99999", "http://127.0.0.1:9000/bucket", "http://127.0.0.1:9000/?a=1",
       "http://127.0.0.1:9000#x"]


@pytest.mark.parametrize("url", GOOD)
def test_an_endpoint_is_an_http_url_with_a_host_and_nothing_after_it(url):
    assert is_endpoint_url(url)


@pytest.mark.parametrize("url", BAD)
def test_anything_else_is_refused(url):
    assert not is_endpoint_url(url)


@pytest.mark.parametrize("url", BAD)
def test_the_function_names_a_bad_cos_endpoint_at_cold_start(url):
    env = {"TENCENTCLOUD_SECRETID": "id", "TENCENTCLOUD_SECRETKEY": "key", "COS_ENDPOINT": url}
    (problem,) = env_problems(env)
    assert "COS_ENDPOINT" in problem.where and "is not an endpoint" in problem.message

"""ConfigError.placed: problems of several files listed together, each led by its file."""

from picops.errors import ConfigError, Problem


def test_config_problems_are_placed_in_their_file_once():
    error = ConfigError([Problem("routes[0].prefix", "bad"), Problem("", "empty file"),
                         Problem("picops.yaml: routes[1]", "already placed")],
                        source="picops.yaml")
    assert [str(p) for p in error.placed()] == [
        "picops.yaml: routes[0].prefix: bad", "picops.yaml: empty file",
        "picops.yaml: routes[1]: already placed"]


def test_without_a_file_the_problems_are_as_they_are():
    assert ConfigError([Problem("x", "y")]).placed() == [Problem("x", "y")]

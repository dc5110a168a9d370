"""Bucket image styles through the SDK: add, list, use as ``style/<name>``, delete."""


def style_rules(data: dict) -> dict:
    """{name: body} from ``ci_get_image_style``'s data. The SDK's XML reader drops the
    ``StyleList`` root when it has children (an empty list comes back as
    ``{"StyleList": None}``); one rule is a dict, several a list."""
    found = data.get("StyleRule") or []
    found = found if isinstance(found, list) else [found]
    return {r["StyleName"]: r["StyleBody"] for r in found}


def test_style_lifecycle(ci):
    client = ci.client
    ci.upload("p/rocket.jpg", "rocket.jpg")
    client.ci_put_image_style(Bucket=ci.bucket, Request={
        "StyleName": "small", "StyleBody": "imageMogr2/thumbnail/90x|imageMogr2/format/png"})
    client.ci_put_image_style(Bucket=ci.bucket, Request={
        "StyleName": "square", "StyleBody": "imageMogr2/thumbnail/40x40!"})

    _, data = client.ci_get_image_style(Bucket=ci.bucket, Request={})
    assert style_rules(data) == {"small": "imageMogr2/thumbnail/90x|imageMogr2/format/png",
                                 "square": "imageMogr2/thumbnail/40x40!"}
    _, data = client.ci_get_image_style(Bucket=ci.bucket, Request={"StyleName": "square"})
    assert style_rules(data) == {"square": "imageMogr2/thumbnail/40x40!"}

    # A style stage may be followed by more stages in the same rule.
    data = ci.process("p/rocket.jpg", [
        {"fileid": "s.png", "rule": "style/small"},
        {"fileid": "q.webp", "rule": "style/square|imageMogr2/format/webp"}])
    small, square = ci.objects(data)
    image = ci.get_image("p/s.png")
    assert (ci.loader(image), image.width, image.height) == ("png", 90, 60)
    assert (small["Width"], small["Height"]) == ("90", "60")
    image = ci.get_image("p/q.webp")
    assert (ci.loader(image), image.width, image.height) == ("webp", 40, 40)
    assert square["Format"].lower() == "webp"

    client.ci_delete_image_style(Bucket=ci.bucket, Request={"StyleName": "small"})
    _, data = client.ci_get_image_style(Bucket=ci.bucket, Request={})
    assert style_rules(data) == {"square": "imageMogr2/thumbnail/40x40!"}
    err = ci.process_error("p/rocket.jpg", ci.pic_operations(
        [{"fileid": "again.png", "rule": "style/small"}]))
    ci.assert_error(err, 404, "NoSuchStyle", "'small'", "rules[0]")
    assert "p/again.png" not in ci.keys()


def test_unknown_style_is_an_error_naming_it(ci):
    ci.upload("rocket.jpg", "rocket.jpg")
    err = ci.process_error("rocket.jpg", ci.pic_operations(
        [{"fileid": "a.jpg", "rule": "imageMogr2/strip"},
         {"fileid": "b.jpg", "rule": "style/no-such-style"}]))
    ci.assert_error(err, 404, "NoSuchStyle", "no-such-style", "rules[1]", "-60967")
    assert ci.keys() == ["rocket.jpg"]


def test_style_body_is_checked_by_the_grammar_when_added(ci):
    err = ci.error(lambda: ci.client.ci_put_image_style(Bucket=ci.bucket, Request={
        "StyleName": "broken", "StyleBody": "imageMogr2/thumbnail/huge"}))
    ci.assert_error(err, 400, "InvalidArgument", "StyleBody", "thumbnail", "huge")
    err = ci.error(lambda: ci.client.ci_put_image_style(Bucket=ci.bucket, Request={
        "StyleName": "broken", "StyleBody": "imageMogr2/quality/101"}))
    ci.assert_error(err, 400, "InvalidArgument", "StyleBody", "quality", "101")
    _, data = ci.client.ci_get_image_style(Bucket=ci.bucket, Request={})
    assert style_rules(data) == {}


def test_deleting_an_unknown_style_names_it(ci):
    err = ci.error(lambda: ci.client.ci_delete_image_style(Bucket=ci.bucket,
                                                           Request={"StyleName": "ghost"}))
    ci.assert_error(err, 404, "NoSuchStyle", "ghost")

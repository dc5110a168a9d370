"""``ci_put_object``: a PUT carrying ``Pic-Operations`` uploads and processes in one call."""

import hashlib
import json


def test_upload_and_process_in_one_call(ci):
    body = ci.image_bytes("grace_hopper.jpg")
    ops = json.dumps({"is_pic_info": 1, "rules": [
        {"fileid": "thumbs/portrait.webp", "rule": "imageMogr2/thumbnail/128x/format/webp"},
        {"fileid": "/flat/portrait.png", "rule": "imageView2/1/w/50/h/50/format/png"}]})
    headers, data = ci.client.ci_put_object(Bucket=ci.bucket, Key="in/portrait.jpg", Body=body,
                                            PicOperations=ops)
    md5 = hashlib.md5(body).hexdigest()

    assert headers["x-cos-request-id"]
    # The upload is stored exactly as sent, and the result reports that object.
    assert ci.head_etag("in/portrait.jpg") == md5
    assert hashlib.md5(ci.get_bytes("in/portrait.jpg")).hexdigest() == md5
    original = data["OriginalInfo"]
    assert (original["Key"], original["ETag"]) == ("in/portrait.jpg", f'"{md5}"')
    assert (original["ImageInfo"]["Width"], original["ImageInfo"]["Height"]) == ("512", "600")

    objects = ci.objects(data)
    assert [o["Key"] for o in objects] == ["in/thumbs/portrait.webp", "flat/portrait.png"]
    for obj, (fmt, size) in zip(objects, [("webp", (128, 150)), ("png", (50, 50))]):
        image = ci.get_image(obj["Key"])
        assert ci.loader(image) == fmt
        assert (image.width, image.height) == size
        assert (int(obj["Width"]), int(obj["Height"])) == size
        assert ci.head_etag(obj["Key"]) == obj["ETag"].strip('"')
    assert ci.keys() == ["flat/portrait.png", "in/portrait.jpg", "in/thumbs/portrait.webp"]


def test_a_failing_rule_keeps_the_upload_but_writes_no_output(ci):
    """The body is committed before Pic-Operations runs (server/ci_hook.py), so a rule that
    fails leaves the upload in place and no derivative."""
    body = ci.image_bytes("rocket.jpg")
    ops = json.dumps({"rules": [
        {"fileid": "ok.jpg", "rule": "imageMogr2/thumbnail/50x"},
        {"fileid": "huge.jpg", "rule": "imageMogr2/thumbnail/20000x"}]})
    err = ci.error(lambda: ci.client.ci_put_object(Bucket=ci.bucket, Key="up.jpg", Body=body,
                                                   PicOperations=ops))
    ci.assert_error(err, 400, "ImageResolutionExceed", "rules[1]", "9999")
    assert ci.keys() == ["up.jpg"]
    assert ci.head_etag("up.jpg") == hashlib.md5(body).hexdigest()


def test_non_ascii_fileid_and_overwriting_the_upload(ci):
    """A UTF-8 Pic-Operations header is signed and read as sent; a fileid naming the upload
    itself replaces it, and OriginalInfo reports the replacement's ETag."""
    body = ci.image_bytes("coffee.png")
    ops = json.dumps({"rules": [
        {"fileid": "小图 1+1.jpg", "rule": "imageMogr2/thumbnail/60x/format/jpg"},
        {"fileid": "咖啡.png", "rule": "imageMogr2/thumbnail/300x"}]}, ensure_ascii=False)
    _, data = ci.client.ci_put_object(Bucket=ci.bucket, Key="相册/咖啡.png", Body=body,
                                      PicOperations=ops)
    replaced = ci.head_etag("相册/咖啡.png")
    assert replaced != hashlib.md5(body).hexdigest()
    assert data["OriginalInfo"]["ETag"] == f'"{replaced}"'
    small, same = ci.objects(data)
    assert (small["Key"], same["Key"]) == ("相册/小图 1+1.jpg", "相册/咖啡.png")
    assert same["ETag"] == f'"{replaced}"'
    image = ci.get_image("相册/咖啡.png")
    assert (ci.loader(image), image.width, image.height) == ("png", 300, 200)
    image = ci.get_image("相册/小图 1+1.jpg")
    assert (ci.loader(image), image.width, image.height) == ("jpeg", 60, 40)
    assert ci.keys() == ["相册/咖啡.png", "相册/小图 1+1.jpg"]

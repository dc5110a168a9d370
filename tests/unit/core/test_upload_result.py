"""UploadResult normalisation: one Object or many, ints, unquoted ETags, missing outputs."""

from picops.upload_result import match_outputs, normalize_upload_result, to_int

OBJ = {"Key": "t/a.webp", "Location": "derived-1250000000.cos.ap-guangzhou.myqcloud.com/t/a.webp",
       "Format": "webp", "Width": "400", "Height": "267", "Size": "12345", "Quality": "80",
       "ETag": '"e1"'}


def test_single_object_dict_and_image_info():
    data = {"OriginalInfo": {"Key": "a.jpg", "ETag": '"s"', "ImageInfo": {
        "Format": "JPEG", "Width": "640", "Height": "427", "Quality": "100", "Ave": "0xa18454",
        "Orientation": "1"}}, "ProcessResults": {"Object": OBJ}}
    original, objects = normalize_upload_result(data)
    assert original == {"format": "JPEG", "width": 640, "height": 427, "quality": 100,
                        "ave": "0xa18454", "orientation": 1}
    assert objects == [{"key": "t/a.webp", "location": OBJ["Location"], "format": "webp",
                        "width": 400, "height": 267, "size": 12345, "quality": 80, "etag": "e1"}]


def test_list_of_objects_keeps_order_and_extras():
    second = dict(OBJ, Key="/t/b.jpg", FrameCount="1")
    _, objects = normalize_upload_result({"ProcessResults": {"Object": [OBJ, second]}})
    assert [o["key"] for o in objects] == ["t/a.webp", "t/b.jpg"]
    assert objects[1]["frame_count"] == 1 and "frame_count" not in objects[0]


def test_empty_and_odd_shapes():
    assert normalize_upload_result({"ProcessResults": None}) == (None, [])
    assert normalize_upload_result({}) == (None, [])
    assert normalize_upload_result(None) == (None, [])
    _, objects = normalize_upload_result({"ProcessResults": {"Object": {"Key": "x"}}})
    assert objects[0]["width"] is None and objects[0]["key"] == "x"


def test_to_int():
    assert [to_int(v) for v in ("7", " 8 ", "9.0", "9.5", "x", None, True, 3)] == \
        [7, 8, 9, None, None, None, None, 3]


def test_match_outputs_names_the_missing():
    objects = [{"key": "b"}, {"key": "a"}]
    matched, missing = match_outputs(["a", "b", "c"], objects)
    assert [m["key"] if m else None for m in matched] == ["a", "b", None]
    assert missing == ["c"]


def test_match_outputs_counts_duplicates():
    matched, missing = match_outputs(["a", "a"], [{"key": "a"}])
    assert missing == ["a"] and matched[1] is None

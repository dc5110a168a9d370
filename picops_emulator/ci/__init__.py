"""CI persistent processing in the emulator: Pic-Operations in, UploadResult out.

``pic_operations`` validates the header, ``upload_result`` builds the XML and
``service`` (the backend the HTTP layer dispatches to) runs each rule on the
imaging engine off the event loop and stores the outputs like any object.
"""

"""A corpus of hostile request bodies: (name, content type, raw bytes). Built in code so 10 MB cases stay out of git."""
import json


def _comment(text: str) -> bytes:
    return json.dumps({"comment": {"id": "h", "text": text}}).encode("utf-8")


def cases(max_body: int):
    zalgo = "".join(c + "\u0336\u0334\u0335\u0337\u0338" * 6 for c in "moderation") * 20
    return [
        ("deep nesting", "application/json", b'{"comment":' * 50_000 + b"{}" + b"}" * 50_000),
        ("deep list nesting", "application/json", b"[" * 200_000 + b"]" * 200_000),
        ("body over the limit", "application/json", b'{"comment": {"id": 1, "text": "' + b"a" * (max_body + 1) + b'"}}'),
        ("10 MB body", "application/json", b'{"comments": [' + b'{"id": 1, "text": "x"},' * 450_000 + b"]}"),
        ("NUL byte in text", "application/json", _comment("hello\u0000world")),
        ("raw NUL in JSON", "application/json", b'{"comment": {"id": 1, "text": "a\x00b"}}'),
        ("invalid UTF-8", "application/json", b'{"comment": {"id": 1, "text": "\xff\xfe\xfd"}}'),
        ("UTF-16 body", "application/json", '{"comment": {"id": 1, "text": "hi"}}'.encode("utf-16")),
        ("lone surrogate escape", "application/json", b'{"comment": {"id": 1, "text": "\\ud83d"}}'),
        ("RTL override", "application/json", _comment("\u202eknil siht kcilc\u202c you idiot")),
        ("zalgo", "application/json", _comment(zalgo)),
        ("emoji flood", "application/json", _comment("🤬" * 5000)),
        ("100k characters", "application/json", _comment("word " * 20_000)),
        ("combining marks only", "application/json", _comment("\u0301" * 3000)),
        ("wrong content type", "text/plain", _comment("hi")),
        ("form content type", "application/x-www-form-urlencoded", b"comment=hi"),
        ("no content type", "", _comment("hi")),
        ("empty body", "application/json", b""),
        ("JSON null", "application/json", b"null"),
        ("JSON string", "application/json", b'"comment"'),
        ("huge number id", "application/json", b'{"comment": {"id": 1e999, "text": "x"}}'),
        ("NaN literal", "application/json", b'{"comment": {"id": NaN, "text": "x"}}'),
        ("duplicate keys", "application/json", b'{"comment": {"id": 1, "text": "a", "text": "b"}}'),
        ("text is object", "application/json", b'{"comment": {"id": 1, "text": {"$ne": ""}}}'),
        ("script payload", "application/json", _comment("<script>alert(1)</script><img src=x onerror=alert(2)>")),
        ("SQL payload", "application/json", _comment("'; DROP TABLE comments; --")),
        ("control characters", "application/json", _comment("\u0001\u0002\u001b[31m red")),
        ("only whitespace", "application/json", _comment(" \t\n\u00a0\u2003 ")),
        ("BOM prefixed", "application/json", b"\xef\xbb\xbf" + _comment("hi")),
    ]

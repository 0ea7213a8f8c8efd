"""Every secret comparison goes through hmac.compare_digest (constant time), never ==."""
import hashlib
import hmac
import json

import pytest

from moderation.review import webhooks
from moderation.service import keys


@pytest.fixture
def compared(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((type(a).__name__, len(a)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_api_key_check_is_constant_time(app, compared):
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score"])
    verifier = keys.KeyVerifier(app.extensions["moderation.store"], cache_seconds=0)
    assert verifier.verify(secret) is not None
    assert verifier.verify(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert len(compared) == 2


def test_coral_signature_check_is_constant_time(app_factory, make_key, compared):
    secret = "empsec_00112233445566778899aabbccddeeff"
    app = app_factory(CORAL_SIGNING_SECRETS=[secret])
    from moderation.service import keys as k
    key, _ = k.create(app.extensions["moderation.store"], "coral", ["score"])
    body = json.dumps({"action": "NEW", "comment": {"body": "hello", "parentID": None}, "author": {"id": "u"},
                       "story": {"id": "s", "url": "https://x"}, "site": {"id": "s"}, "tenantID": "t",
                       "tenantDomain": "d"}, indent=2).encode()
    wrong = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    before = len(compared)
    response = app.test_client().post(f"/v1/coral/moderate?key={key}", data=body,
                                      headers={"Content-Type": "application/json", "X-Coral-Signature": wrong})
    assert response.status_code == 401
    assert len(compared) > before


def test_webhook_signature_check_is_constant_time(compared):
    header = webhooks.sign("s", 1000, b"{}")
    assert webhooks.verify("s", header, b"{}", now=1000)
    assert len(compared) == 1

"""Nothing secret and no comment text reaches the logs at INFO: keys, passwords, comment bodies."""
import logging

from moderation.review import users


def test_no_secrets_or_comment_text_in_info_logs(app, client, make_key, caplog):
    key = make_key("score", "review")
    secret_text = "Zanzibar-quokka shibboleth nineteen"
    password = "correct horse battery staple"
    users.create(app.extensions["moderation.store"], "maria", password, "moderator")
    with caplog.at_level(logging.INFO):
        client.put("/v1/articles/a", json={"title": "Bridge", "body": secret_text}, headers={"X-API-Key": key})
        client.post("/v1/moderate", json={"comment": {"id": "c", "text": secret_text + " you idiot"}},
                    headers={"Authorization": f"Bearer {key}"})
        client.post(f"/v1alpha1/comments:analyze?key={key}",
                    json={"comment": {"text": secret_text}, "requestedAttributes": {"TOXICITY": {}}})
        client.post("/v1/moderate", json={"comment": {"id": "bad", "text": secret_text + "\u0000"}},
                    headers={"X-API-Key": key})
        client.post("/v1/moderate", data=b"{" + secret_text.encode(), headers={"X-API-Key": key,
                                                                                "Content-Type": "application/json"})
        login_page = client.get("/review/login").get_data(as_text=True)
        token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/review/login", data={"name": "maria", "password": password, "csrf_token": token})
        client.post("/review/login", data={"name": "maria", "password": password + "x", "csrf_token": token})
    logged = "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records
                       if record.levelno >= logging.INFO)
    assert caplog.records, "expected request log lines"
    for forbidden in (key, key.split("_", 2)[2], secret_text, "Zanzibar", password):
        assert forbidden not in logged, forbidden

"""``/review``: log in, work through the queues card by card or in bulk, and read the audit trail."""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from flask import (Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from . import auth, cards
from . import init_app as configure
from ..errors import error_pages, problem_response
from ...errors import InvalidInput, NotFound, Problem, Unavailable
from ...model.labels import LABELS
from ...review import login_throttle, queue, reasons, users
from ...store import StoreUnavailable

bp = Blueprint("review_ui", __name__, url_prefix="/review")
QUEUE_TITLES = {"review": "Held for review", "appeals": "Appeals", "auto-rejected": "Auto-rejected",
                "approved": "Approved", "rejected": "Rejected"}
SORTS = {"score": "Score", "time": "Newest", "oldest": "Oldest"}
PUBLIC_ENDPOINTS = ("review_ui.login",)
MAX_NOTE_CHARS = 5000
LABEL_FIELD = "label."  # a card's label.NAME field: 1 (yes), 0 (no) or empty (unset)


def _store():
    return current_app.extensions["moderation.store"]


def _labels() -> list[str]:
    scorer = current_app.extensions["moderation.model"].scorer
    return list(scorer.labels) if scorer else []


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path inside the review UI (never another site), else ``default``."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or "\\" in (target or "") or not parts.path.startswith("/review"):
        return default
    return target


@bp.before_request
def _before():
    if not current_app.secret_key:
        raise Unavailable("The review UI needs a secret key: set MODERATION_SECRET_KEY, or let the service "
                          "write $MODERATION_HOME/secret_key.")
    if request.method not in auth.SAFE_METHODS:
        auth.check_csrf()
    auth.load_user()
    if g.user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if _wants_json():
            raise Problem("Your session has ended: log in again.", status=401, title="Not logged in")
        return redirect(url_for(".login", next=request.full_path.rstrip("?")))


@bp.after_request
def _headers(response):
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; base-uri 'none'; "
                                "form-action 'self'; frame-ancestors 'none'; object-src 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.context_processor
def _template_helpers():
    def url_with(**changes):
        args = {**request.view_args, **request.args.to_dict(), **changes}
        return url_for(request.endpoint, **{k: v for k, v in args.items() if v not in (None, "")})

    codes = current_app.config["REJECTION_REASONS"]

    def suggest_reason(comment) -> str:
        return reasons.suggest(comment.reasons, comment.flags, codes)

    return {"csrf_token": auth.csrf_token, "csrf_field": auth.CSRF_FIELD, "url_with": url_with,
            "queue_titles": QUEUE_TITLES, "user": g.get("user"), "reason_codes": codes,
            "suggest_reason": suggest_reason}


@bp.app_template_filter("review_time")
def _review_time(value) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else ""


def _error_page(problem: Problem):
    """Every error under /review, Flask's own included: an HTML page, or problem+json for the page's script."""
    if _wants_json():
        return problem_response(problem)
    return render_template("review/error.html", problem=problem), problem.status, problem.headers


@bp.errorhandler(StoreUnavailable)
def _store_down(error: StoreUnavailable):
    return _error_page(Unavailable("The database is unreachable; try again shortly.", headers={"Retry-After": "5"}))


@bp.get("/")
def index():
    return redirect(url_for(".queue_page", name="review"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; at most REVIEW_LOGIN_MAX_FAILURES failures per name and per address in the window."""
    if request.method == "GET":
        return render_template("review/login.html", next=request.args.get("next", ""))
    name, password = request.form.get("username", "").strip(), request.form.get("password", "")
    address, next_url = auth.client_address(), request.form.get("next", "")
    user, wait = login_throttle.attempt(
        _store(), name, address, int(current_app.config["REVIEW_LOGIN_MAX_FAILURES"]),
        timedelta(seconds=float(current_app.config["REVIEW_LOGIN_WINDOW_SECONDS"])),
        lambda: users.authenticate(_store(), name, password))
    if wait:
        return render_template("review/login.html", name=name, next=next_url,
                               error=f"Too many failed logins: try again in {math.ceil(wait / 60)} minute(s)."), \
            429, {"Retry-After": str(math.ceil(wait))}
    if user is None:
        return render_template("review/login.html", name=name, next=next_url,
                               error="Unknown user name or wrong password."), 200
    auth.log_in(user)
    return redirect(_safe_next(next_url, url_for(".queue_page", name="review")))


@bp.post("/logout")
def logout():
    session.clear()
    flash("You have logged out.", "ok")
    return redirect(url_for(".login"))


def _queue_query(name: str, args) -> tuple[queue.QueueQuery, int]:
    """The queue, filters, sort and page a request asks for; unknown labels and sorts are refused."""
    known = _labels()
    label = args.get("label") or None
    sort_label = label or args.get("sort_label") or (known or LABELS)[0]
    for field, value in (("label", label), ("sort_label", sort_label)):
        if value is not None and known and value not in known:
            raise InvalidInput(f"unknown label {value!r} (labels: {', '.join(known)})", field=field)
    sort = args.get("sort") or "score"
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r} (sorts: {', '.join(SORTS)})", field="sort")
    page, size = max(1, args.get("page", 1, type=int)), int(current_app.config["REVIEW_PAGE_SIZE"])
    return queue.QueueQuery(queue=name, article_id=args.get("article") or None, label=label,
                            author_id=args.get("author") or None, sort=sort,
                            sort_label=sort_label, limit=size, offset=(page - 1) * size), page


@bp.get("/queue/<name>")
def queue_page(name: str):
    """One page of a queue, as cards, with every queue's count."""
    if name not in queue.QUEUES:
        raise NotFound(f"no queue {name!r} (queues: {', '.join(queue.QUEUES)})")
    query, page = _queue_query(name, request.args)
    rows, total = queue.listing(_store(), query)
    return render_template("review/queue.html", cards=cards.build(_store(), rows), total=total, query=query,
                           page=page, pages=max(1, math.ceil(total / query.limit)), counts=queue.counts(_store()),
                           labels=_labels(), sorts=SORTS, next=request.full_path.rstrip("?"))


@bp.get("/comments/<path:client_id>")
def comment_page(client_id: str):
    """One comment's card and its whole decision history."""
    try:
        comment, history = queue.get(_store(), client_id)
    except queue.ReviewError as error:
        raise NotFound(str(error)) from None
    return render_template("review/comment.html", card=cards.build(_store(), [comment])[0], history=history,
                           labels=_labels(), next=request.full_path.rstrip("?"))


def _labels_set(form) -> dict | None:
    """The labels the moderator set yes (1) or no (0) on the card; unset ones, suggestions included, are not sent."""
    given = {name.removeprefix(LABEL_FIELD): value for name, value in form.items()
             if name.startswith(LABEL_FIELD) and value != ""}
    return queue.validate_labels({label: int(value) if value in ("0", "1") else value
                                  for label, value in given.items()}, _labels()) or None


@bp.post("/comments/<path:client_id>/decision")
def decide(client_id: str):
    """Approve or reject one comment at the version its card showed; a conflict is recorded, not applied."""
    form = request.form
    version, note = form.get("version", type=int), form.get("note", "").strip() or None
    if version is None:
        raise InvalidInput("version (the comment's version shown on its card) is required", field="version")
    if note is not None and len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"the note is over {MAX_NOTE_CHARS} characters", field="note")
    reason = None
    if form.get("decision") == "reject" and form.get("reason"):
        reason = reasons.validate({"code": form["reason"], "detail": form.get("reason_detail")},
                                  current_app.config["REJECTION_REASONS"])
    try:
        comment = queue.decide(_store(), client_id, form.get("decision"), f"user:{g.user.name}",
                               _labels_set(form), note, version, subscribed=current_app.config["WEBHOOK_EVENTS"],
                               reason=reason, codes=current_app.config["REJECTION_REASONS"])
    except queue.ReviewError as error:
        raise (NotFound(str(error)) if error.status == 404 else InvalidInput(str(error), field=error.field)) from None
    except queue.Conflict as conflict:
        current = conflict.comment
        return _decided(current, 409, f"{client_id} was decided by someone else meanwhile: it is now "
                                      f"{current.status} ({current.decided_by or 'automatic'}). Your decision was "
                                      "recorded in the audit trail but not applied; the card is refreshed.")
    return _decided(comment, 200, f"{comment.client_id} {comment.status}.")


def _decided(comment, status: int, message: str):
    """The answer to a decision: a redirect for forms; JSON for the page's script, a 409 problem with the card."""
    next_url = _safe_next(request.form.get("next"), url_for(".queue_page", name="review"))
    if not _wants_json():
        flash(message, "ok" if status == 200 else "error")
        return redirect(next_url)
    counts = queue.counts(_store())
    if status == 409:
        card = render_template("review/_card.html", card=cards.build(_store(), [comment])[0], labels=_labels(),
                               next=next_url)
        raise Problem(message, status=409, title="Conflict", type="/problems/conflict",
                      current_status=comment.status, version=comment.version, counts=counts, card=card)
    return {"ok": True, "message": message, "status": comment.status, "version": comment.version, "counts": counts}


def _bulk_selection(args) -> tuple[queue.QueueQuery, str, list[tuple[str, int]]]:
    """The bulk action a request describes: its query (queue, filters, score range), decision and comments."""
    name = args.get("queue", "review")
    if name not in queue.QUEUES:
        raise InvalidInput(f"unknown queue {name!r}", field="queue")
    query, _ = _queue_query(name, args)
    bounds = {}
    for field in ("min_score", "max_score"):
        raw = (args.get(field) or "").strip()
        try:
            bounds[field] = float(raw) if raw else None
        except ValueError:
            raise InvalidInput(f"{field} must be a number between 0 and 1", field=field) from None
        if bounds[field] is not None and not 0.0 <= bounds[field] <= 1.0:
            raise InvalidInput(f"{field} must be a number between 0 and 1", field=field)
    decision = args.get("decision")
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject", field="decision")
    query = replace(query, **bounds, sort="score", offset=0, limit=10)
    return query, decision, queue.matching_ids(_store(), query)


@bp.get("/bulk")
def bulk_confirm():
    """The confirmation page of a bulk action: how many comments it decides, and the highest-scored few."""
    query, decision, selected = _bulk_selection(request.args)
    sample = cards.build(_store(), queue.listing(_store(), query)[0]) if selected else []
    return render_template("review/bulk.html", query=query, decision=decision, selected=selected, sample=sample,
                           limit=int(current_app.config["REVIEW_BULK_MAX"]))


@bp.post("/bulk")
def bulk_apply():
    """Decide every confirmed comment at the version it had when confirmed; report what happened."""
    query, decision, _ = _bulk_selection(request.form)
    items = [item.split(":", 1) for item in request.form.getlist("item")]
    if not items or len(items) > int(current_app.config["REVIEW_BULK_MAX"]) or \
            not all(len(i) == 2 and i[0].isdigit() for i in items):
        raise InvalidInput("the confirmed selection is missing, too large or malformed", field="item")
    note = f"bulk {decision}: {query.label or query.sort_label} {query.min_score or 0:.2f}–{query.max_score or 1:.2f}"
    done = {"applied": 0, "conflict": 0, "gone": 0}
    for version, client_id in items:
        try:
            queue.decide(_store(), client_id, decision, f"user:{g.user.name}", note=note,
                         expected_version=int(version), subscribed=current_app.config["WEBHOOK_EVENTS"],
                         codes=current_app.config["REJECTION_REASONS"])
            done["applied"] += 1
        except queue.Conflict:
            done["conflict"] += 1
        except queue.ReviewError:
            done["gone"] += 1
    flash(f"{done['applied']} comment(s) {'approved' if decision == 'approve' else 'rejected'}; "
          f"{done['conflict']} decided by someone else meanwhile (recorded, not applied)"
          + (f"; {done['gone']} no longer stored" if done["gone"] else "") + ".",
          "ok" if not done["conflict"] and not done["gone"] else "error")
    return redirect(url_for(".queue_page", name=query.queue, article=query.article_id, label=query.label,
                            sort_label=query.sort_label))


@bp.get("/audit")
def audit():
    """Decision attempts, newest first: a moderator's own, or (for admins) everyone's or one actor's."""
    actor = (request.args.get("actor") or None) if g.user.is_admin else f"user:{g.user.name}"
    page, size = max(1, request.args.get("page", 1, type=int)), int(current_app.config["REVIEW_PAGE_SIZE"])
    rows = queue.audit(_store(), limit=size + 1, offset=(page - 1) * size, actor=actor)
    return render_template("review/audit.html", rows=rows[:size], page=page, has_next=len(rows) > size, actor=actor)


def init_app(app: Flask) -> None:
    configure(app)
    app.register_blueprint(bp)
    error_pages(app, bp.url_prefix, _error_page)

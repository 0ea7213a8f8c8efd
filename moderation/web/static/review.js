// The review UI's keyboard and in-place decisions. Without this script every form still works as a plain POST.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]');
  let selected = -1;

  function cards() {
    return Array.from(document.querySelectorAll("[data-card]"));
  }

  function select(index) {
    const all = cards();
    if (!all.length) { selected = -1; return; }
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (card, i) { card.classList.toggle("selected", i === selected); });
    all[selected].focus({ preventScroll: true });
    all[selected].scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function current() {
    return cards()[selected] || null;
  }

  function say(message, isError) {
    const live = document.getElementById("live");
    if (!live) return;
    live.textContent = message;
    live.className = "flash " + (isError ? "flash-error" : "flash-ok");
    live.hidden = false;
  }

  function updateCounts(counts) {
    Object.keys(counts || {}).forEach(function (name) {
      const badge = document.querySelector('[data-count="' + name + '"]');
      if (badge) badge.textContent = counts[name];
    });
  }

  async function decide(form, decision) {
    const card = form.closest("[data-card]");
    const body = new FormData(form);
    body.set("decision", decision);
    card.classList.add("busy");
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST", body: body, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrf ? csrf.content : "" },
      });
    } catch (error) {
      card.classList.remove("busy");
      say("The decision could not be sent (" + error.message + "); try again.", true);
      return;
    }
    if (response.status === 401) { window.location.reload(); return; }
    const answer = await response.json().catch(function () { return {}; });
    card.classList.remove("busy");
    if (answer.counts) updateCounts(answer.counts);
    if (response.ok) {
      say(answer.message, false);
      const index = cards().indexOf(card);
      const total = document.querySelector("[data-total]");
      if (total && card.closest(".cards")) total.textContent = Math.max(0, Number(total.textContent) - 1);
      card.remove();
      if (!cards().length) { window.location.reload(); return; }
      select(index);
    } else if (answer.card) {
      say(answer.detail, true);
      const holder = document.createElement("div");
      holder.innerHTML = answer.card;  // rendered by the server, every piece of comment text escaped
      const fresh = holder.firstElementChild;
      card.replaceWith(fresh);
      fresh.classList.add("conflict");
      select(cards().indexOf(fresh));
    } else {
      say(answer.detail || "The decision failed (HTTP " + response.status + ").", true);
    }
  }

  // A label's states in the order a key press moves through them: unset, yes, no, and back to unset.
  const LABEL_STATES = ["", "1", "0"];

  function cycle(choice) {
    const checked = choice.querySelector("input:checked");
    const now = LABEL_STATES.indexOf(checked ? checked.value : "");
    const next = choice.querySelector('input[value="' + LABEL_STATES[(now + 1) % LABEL_STATES.length] + '"]');
    if (next) next.checked = true;
  }

  function toggleHelp(show) {
    const help = document.getElementById("help");
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.classList.contains("decision")) return;
    event.preventDefault();
    const button = event.submitter;
    decide(form, button && button.value ? button.value : "approve");
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-help]")) toggleHelp(false);
    const card = event.target.closest("[data-card]");
    if (card) {
      const index = cards().indexOf(card);
      if (index !== selected) select(index);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target.matches("textarea, select, input:not([type=checkbox]):not([type=radio])");
    if (typing) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const card = current();
    if (event.key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (event.key === "Escape") { toggleHelp(false); return; }
    if (!document.getElementById("help") || !document.getElementById("help").hidden) return;
    if (event.key === "j") { select(selected + 1); event.preventDefault(); }
    else if (event.key === "k") { select(selected - 1); event.preventDefault(); }
    else if ((event.key === "a" || event.key === "r") && card) {
      event.preventDefault();
      decide(card.querySelector("form.decision"), event.key === "a" ? "approve" : "reject");
    } else if (event.key === "n" && card) {
      event.preventDefault();
      card.querySelector(".note").focus();
    } else if (/^[1-9]$/.test(event.key) && card) {
      const choice = card.querySelectorAll(".choice")[Number(event.key) - 1];
      if (choice) { cycle(choice); event.preventDefault(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (cards().length) select(0);
  });
})();

// The admin panel: sign in with the admin token (kept in this tab's sessionStorage and
// sent only in the Authorization header, never in a cookie, so another site cannot make
// the browser act as the admin), campaigns, a pledge with its history and refunds, and
// the operator's views.
"use strict";

(() => {
  const { h, fill, api, money, toMinor, newKey, when, announce, show, stored, store } = cfa;
  const TOKEN = "cfa.adminToken";
  const REFUND_INTENT = "cfa.refundIntent";

  const token = () => stored(sessionStorage, TOKEN, null);

  async function admin(method, path, options = {}) {
    try {
      return await api(method, path, { ...options, token: token() });
    } catch (e) {
      if (e.status === 401) {
        store(sessionStorage, TOKEN, null);
        signInView("The admin token was refused; sign in again.");
      }
      throw e;
    }
  }

  const errorLine = (text) => h("p", { class: "error", role: "alert" }, text);

  // A yes/no question in a modal <dialog>; resolves true on "yes".
  function confirmDialog(title, text, yes) {
    return new Promise((resolve) => {
      const dialog = h("dialog", { "aria-labelledby": "confirm-title" },
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, text),
        h("form", { method: "dialog", class: "actions" },
          h("button", { value: "yes", class: "danger" }, yes),
          h("button", { value: "no", class: "secondary", autofocus: true }, "Cancel")));
      dialog.addEventListener("close", () => {
        resolve(dialog.returnValue === "yes");
        dialog.remove();
      });
      document.body.append(dialog);
      dialog.showModal();
    });
  }

  // ---- Sign in ----

  function signInView(problem) {
    const input = h("input", { name: "token", type: "password", autocomplete: "off", required: true });
    const message = h("div", { "aria-live": "assertive" }, problem ? errorLine(problem) : null);
    const form = h("form", { class: "card", "aria-labelledby": "admin-sign-in" },
      h("h1", { id: "admin-sign-in" }, "Admin sign in"),
      h("label", {}, "Admin token", input),
      message,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("GET", "/api/v1/admin/relay", { token: input.value });
        store(sessionStorage, TOKEN, input.value);
        panel();
      } catch (e) {
        fill(message, errorLine(e.status === 401 || e.status === 403 ? "That is not the admin token." : e.message));
      }
    });
    document.getElementById("sign-out").hidden = true;
    show(form);
  }

  // ---- Campaigns ----

  function campaignRow(c, totals, refresh) {
    const act = (label, status, danger) => {
      const button = h("button", { type: "button", class: danger ? "danger" : "secondary", "aria-label": `${label} ${c.title}` }, label);
      button.addEventListener("click", async () => {
        if (status === "CLOSED" && !(await confirmDialog("Close this campaign?", `"${c.title}" stops taking donations for good. Closing cannot be undone.`, "Close campaign"))) return;
        button.disabled = true;
        try {
          await admin("PATCH", `/api/v1/campaigns/${encodeURIComponent(c.id)}`, { body: { status } });
          announce(`${c.title}: ${status}`);
        } catch (e) {
          announce(e.message);
        }
        refresh();
      });
      return button;
    };
    return h("tr", { "data-campaign": c.id },
      h("td", {}, c.title),
      h("td", {}, c.status),
      h("td", {}, money(c.goal_minor, c.currency)),
      h("td", { "data-testid": "campaign-raised" }, totals ? money(totals.raised_minor, c.currency) : "–"),
      h("td", {}, h("div", { class: "actions" },
        c.status === "ACTIVE" ? act("Pause", "PAUSED") : null,
        c.status === "PAUSED" ? act("Resume", "ACTIVE") : null,
        c.status !== "CLOSED" ? act("Close", "CLOSED", true) : null)));
  }

  function campaignsSection() {
    const body = h("tbody");
    const refresh = async () => {
      const list = await admin("GET", "/api/v1/campaigns?limit=100");
      const totals = await Promise.all(list.items.map((c) => api("GET", `/api/v1/campaigns/${encodeURIComponent(c.id)}/totals`).catch(() => null)));
      fill(body, ...list.items.map((c, i) => campaignRow(c, totals[i], refresh)));
    };
    const message = h("div", { "aria-live": "assertive" });
    const form = h("form", { "aria-labelledby": "new-campaign" },
      h("h3", { id: "new-campaign" }, "New campaign"),
      h("label", {}, "Title", h("input", { name: "title", required: true, maxlength: 200 })),
      h("label", {}, "Description", h("textarea", { name: "description", rows: 3, maxlength: 5000 })),
      h("label", {}, "Goal", h("input", { name: "goal", inputmode: "decimal", required: true, placeholder: "5000" })),
      h("label", {}, "Currency", h("input", { name: "currency", required: true, value: "USD", maxlength: 3, autocapitalize: "characters" })),
      message,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Create campaign")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const currency = String(data.get("currency")).trim().toUpperCase();
      const goal = toMinor(String(data.get("goal")), currency);
      if (!goal) {
        fill(message, errorLine(`Enter the goal in ${currency}, like 5000.`));
        return;
      }
      try {
        const c = await admin("POST", "/api/v1/campaigns", {
          body: { title: String(data.get("title")).trim(), description: String(data.get("description")), goal_minor: goal, currency },
        });
        form.reset();
        fill(message, h("p", { class: "ok", role: "status" }, `Created "${c.title}".`));
        refresh();
      } catch (e) {
        fill(message, errorLine(e.message));
      }
    });
    refresh().catch((e) => fill(body, h("tr", {}, h("td", { colspan: 5 }, errorLine(e.message)))));
    return h("section", { class: "card", "aria-labelledby": "campaigns-heading" },
      h("h2", { id: "campaigns-heading" }, "Campaigns"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["Title", "Status", "Goal", "Raised", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        body)),
      form);
  }

  // ---- A pledge ----

  function pledgeSection() {
    const out = h("div", { "aria-live": "polite" });
    const input = h("input", { name: "pledge", required: true, autocomplete: "off", spellcheck: "false" });
    const form = h("form", { "aria-label": "Find a pledge by its id" },
      h("label", {}, "Pledge id", input),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Find pledge")));
    const load = async (id) => {
      try {
        fill(out, pledgeDetails(await admin("GET", `/api/v1/pledges/${encodeURIComponent(id)}`), load));
      } catch (e) {
        fill(out, errorLine(e.status === 404 ? "No pledge has that id." : e.message));
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      load(input.value.trim());
    });
    return h("section", { class: "card", "aria-labelledby": "pledges-heading" },
      h("h2", { id: "pledges-heading" }, "Find a pledge"), form, out);
  }

  function pledgeDetails(found, reload) {
    const p = found.pledge;
    const refundable = p.captured_minor - p.refunded_minor - p.disputed_minor -
      found.refunds.filter((r) => r.status === "requested" || r.status === "pending").reduce((sum, r) => sum + r.amount_minor, 0);
    return h("div", { "data-pledge": p.id },
      h("dl", { class: "facts" },
        h("dt", {}, "Pledge"), h("dd", {}, p.id),
        h("dt", {}, "Status"), h("dd", { "data-testid": "admin-pledge-status" }, p.status),
        h("dt", {}, "Amount"), h("dd", {}, money(p.amount_minor, p.currency)),
        h("dt", {}, "Captured"), h("dd", {}, money(p.captured_minor, p.currency)),
        h("dt", {}, "Refunded"), h("dd", { "data-testid": "admin-pledge-refunded" }, money(p.refunded_minor, p.currency)),
        h("dt", {}, "Donor"), h("dd", {}, `${p.donor_name || "(no name)"} <${p.donor_email}>${p.anonymous ? ", anonymous" : ""}`),
        h("dt", {}, "Provider payment"), h("dd", {}, p.provider_payment_id || "–")),
      h("h3", {}, "Status history"),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, ["When", "Event", "Outcome", "Status"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, found.history.map((e) => h("tr", {},
          h("td", {}, when(e.recorded_at_ms)), h("td", {}, e.kind), h("td", {}, e.outcome),
          h("td", {}, e.from_status || e.to_status ? `${e.from_status || "–"} → ${e.to_status || "–"}` : "")))))),
      found.refunds.length ? [h("h3", {}, "Refunds"), h("ul", {}, found.refunds.map((r) =>
        h("li", {}, `${money(r.amount_minor, p.currency)}: ${r.status}${r.reason ? ` (${r.reason})` : ""}${r.failure ? `, ${r.failure}` : ""}`)))] : null,
      refundable > 0 ? refundForm(p, refundable, reload) : null);
  }

  // One refund per intent: the key is kept for the same pledge, amount and reason, so a
  // retry after a lost answer cannot refund twice.
  function refundIntent(pledgeId, amount, reason) {
    const pending = stored(sessionStorage, REFUND_INTENT, null);
    const same = pending && pending.pledgeId === pledgeId && pending.amount === amount && pending.reason === reason;
    if (same) return pending;
    const intent = { pledgeId, amount, reason, key: newKey("admin-refund") };
    store(sessionStorage, REFUND_INTENT, intent);
    return intent;
  }

  function refundForm(p, refundable, reload) {
    const message = h("div", { "aria-live": "assertive" });
    const form = h("form", { "aria-labelledby": "refund-heading" },
      h("h3", { id: "refund-heading" }, "Refund"),
      h("label", {}, `Amount (${p.currency}, up to ${money(refundable, p.currency)})`,
        h("input", { name: "amount", inputmode: "decimal", required: true })),
      h("label", {}, "Reason", h("input", { name: "reason", maxlength: 500 })),
      message,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, "Refund…")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const amount = toMinor(String(data.get("amount")), p.currency);
      if (!amount || amount > refundable) {
        fill(message, errorLine(`Enter an amount up to ${money(refundable, p.currency)}.`));
        return;
      }
      const reason = String(data.get("reason")).trim();
      const sure = await confirmDialog("Refund this donation?",
        `${money(amount, p.currency)} goes back to ${p.donor_email} through the payment provider. This cannot be undone.`, "Refund");
      if (!sure) return;
      const intent = refundIntent(p.id, amount, reason);
      try {
        const answer = await admin("POST", `/api/v1/pledges/${encodeURIComponent(p.id)}/refund`, {
          key: intent.key, body: { amount_minor: amount, reason: reason || null },
        });
        store(sessionStorage, REFUND_INTENT, null);
        const status = answer && answer.refund ? answer.refund.status : "requested";
        announce(`Refund ${status}.`);
        await reload(p.id);
      } catch (e) {
        if (e.status && e.status < 500 && e.status !== 409) store(sessionStorage, REFUND_INTENT, null);
        fill(message, errorLine(e.message));
      }
    });
    return form;
  }

  // ---- Operations ----

  function operationsSection() {
    const out = h("div", { "aria-live": "polite" });
    const refresh = async () => {
      const [relay, stuck, hooks, recon] = await Promise.all([
        admin("GET", "/api/v1/admin/relay"),
        admin("GET", "/api/v1/admin/stuck-pledges?limit=20"),
        admin("GET", "/api/v1/admin/webhooks?limit=20"),
        admin("GET", "/api/v1/admin/reconciliation").catch((e) => ({ error: e.message })),
      ]);
      fill(out, 
        h("h3", {}, "Relay"),
        h("dl", { class: "facts", "data-testid": "relay" },
          h("dt", {}, "Backlog"), h("dd", {}, `${relay.backlog} events (${relay.claimed} claimed)`),
          h("dt", {}, "Lag"), h("dd", {}, `${relay.oldest_unpublished_age_ms} ms`),
          h("dt", {}, "Last published"), h("dd", {}, relay.last_published_at_ms ? when(relay.last_published_at_ms) : "never"),
          h("dt", {}, "Dead letters"), h("dd", {}, relay.dead_letters)),
        h("h3", {}, "Reconciliation"),
        recon.error ? errorLine(recon.error) :
          h("p", { "data-testid": "reconciliation", class: recon.ok ? "ok" : "error" },
            recon.ok ? `No drift: ${recon.pledges_checked} pledges, ${recon.campaigns_checked} campaigns checked.`
              : `${recon.drift.length} drift(s) found (relay backlog ${recon.relay_backlog}).`),
        recon.drift && recon.drift.length ? h("ul", {}, recon.drift.map((d) => h("li", {}, `${d.kind}: ${d.campaign_id || d.pledge_id || d.payment_id || ""} ${d.detail || ""}`))) : null,
        h("h3", {}, "Stuck pledges"),
        stuck.items.length === 0 ? h("p", {}, "None.") : h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["Pledge", "Status", "Amount", "Stuck for"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, stuck.items.map((s) => h("tr", {}, h("td", {}, s.id), h("td", {}, s.status),
            h("td", {}, money(s.amount_minor, s.currency)), h("td", {}, `${Math.round(s.stuck_for_ms / 60000)} min`)))))),
        h("h3", {}, "Recent webhooks"),
        hooks.items.length === 0 ? h("p", {}, "None yet.") : h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, ["When", "Event", "Pledge", "Outcome"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, hooks.items.map((w) => h("tr", {}, h("td", {}, when(w.recorded_at_ms)), h("td", {}, w.kind),
            h("td", {}, w.pledge_id), h("td", {}, w.outcome)))))));
    };
    const button = h("button", { type: "button", class: "secondary" }, "Refresh");
    button.addEventListener("click", () => refresh().catch((e) => fill(out, errorLine(e.message))));
    refresh().catch((e) => fill(out, errorLine(e.message)));
    return h("section", { class: "card", "aria-labelledby": "ops-heading" },
      h("div", { class: "actions" }, h("h2", { id: "ops-heading" }, "Operations"), button), out);
  }

  function panel() {
    document.getElementById("sign-out").hidden = false;
    show(h("h1", {}, "Admin"), campaignsSection(), pledgeSection(), operationsSection());
  }

  document.getElementById("sign-out").addEventListener("click", () => {
    store(sessionStorage, TOKEN, null);
    signInView();
  });
  if (token()) panel();
  else signInView();
})();

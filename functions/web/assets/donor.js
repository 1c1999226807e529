// The donor page: campaigns with live totals, a donate form that makes one pledge per
// intent (its Idempotency-Key is made once and reused on every retry, a double click and
// a reload included), the payment step on the provider's hosted page, the receipt, the
// donor's history (guest tokens or an account) and each campaign's public feed.
"use strict";

(() => {
  const { h, fill, api, money, toMinor, newKey, when, announce, show, stored, store } = cfa;

  const PLEDGES = "cfa.pledges"; // localStorage: pledge id -> { token, payment, campaign_id }
  const INTENT = "cfa.intent"; // sessionStorage: the donation being submitted
  const SESSION = "cfa.session"; // sessionStorage: { token, email, expires_at }
  const HISTORY_TOKEN = "cfa.historyToken"; // sessionStorage: the token of a receipt link
  const paymentPageUrl = document.querySelector('meta[name="payment-page-url"]').content;

  let view = 0; // bumped on every navigation; pollers of an older view stop
  let resumed = false; // a donation left on its way is sent again once, on load
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const session = () => {
    const s = stored(sessionStorage, SESSION, null);
    return s && s.expires_at * 1000 > Date.now() ? s : null;
  };
  const pledges = () => stored(localStorage, PLEDGES, {});

  function endSession(reason) {
    store(sessionStorage, SESSION, null);
    updateAccountLink();
    announce(reason);
  }

  // Calls the API as the signed-in donor; a session the server ended signs out here too.
  async function asDonor(method, path, options = {}) {
    try {
      return await api(method, path, options);
    } catch (e) {
      const code = e.problem && e.problem.code;
      if (options.token && (code === "session_ended" || code === "token_expired") && session()) {
        endSession("Your session has ended. Sign in again.");
      }
      throw e;
    }
  }

  function updateAccountLink() {
    const s = session();
    document.getElementById("account-link").textContent = s ? "Account" : "Sign in";
  }

  function errorLine(text) {
    return h("p", { class: "error", role: "alert" }, text);
  }

  function statusTag(status) {
    return h("span", { class: "status-tag" }, status);
  }

  // ---- Campaigns ----

  function progress(campaign, totals) {
    const raised = totals ? totals.raised_minor : 0;
    return h("div", { class: "progress" },
      h("progress", { max: campaign.goal_minor, value: Math.min(raised, campaign.goal_minor), "aria-label": `Raised for ${campaign.title}` }),
      h("p", { class: "muted" },
        h("strong", { "data-testid": "raised" }, money(raised, campaign.currency)),
        ` raised of ${money(campaign.goal_minor, campaign.currency)}`,
        totals ? ` · ${totals.donor_count} ${totals.donor_count === 1 ? "donor" : "donors"}` : ""));
  }

  async function totalsOf(id) {
    try {
      return await api("GET", `/api/v1/campaigns/${encodeURIComponent(id)}/totals`);
    } catch (e) {
      return null;
    }
  }

  async function campaignsView(me) {
    const list = await api("GET", "/api/v1/campaigns?limit=100");
    const campaigns = list.items.filter((c) => c.status !== "CLOSED");
    const render = async () => {
      const totals = await Promise.all(campaigns.map((c) => totalsOf(c.id)));
      if (me !== view) return false;
      show(
        h("h1", {}, "Give to a campaign"),
        campaigns.length === 0 ? h("p", {}, "No campaigns are open right now.") : null,
        h("ul", { class: "cards" }, campaigns.map((c, i) =>
          h("li", { class: "card", "data-campaign": c.id },
            h("h2", {}, h("a", { href: `#campaign/${c.id}` }, c.title)),
            c.status === "PAUSED" ? h("p", {}, statusTag("Paused: not taking donations")) : null,
            h("p", {}, c.description),
            progress(c, totals[i]),
            c.status === "ACTIVE" ? h("a", { class: "button", href: `#campaign/${c.id}` }, `Donate to ${c.title}`) : null))));
      return true;
    };
    while (me === view && (await render())) await sleep(5000);
  }

  function donationLine(d) {
    const who = d.anonymous ? "Anonymous" : d.donor_name || "A donor";
    const net = d.amount_minor - d.refunded_minor;
    return h("li", {}, h("strong", {}, who), ` gave ${money(net, d.currency)}`, h("span", { class: "muted" }, ` · ${when(d.created_at_ms)}`));
  }

  async function campaignView(me, id) {
    const path = `/api/v1/campaigns/${encodeURIComponent(id)}`;
    let campaign = await api("GET", path);
    const live = h("div", { "aria-live": "polite" });
    const donate = h("div", {});
    const feed = h("ul", { class: "feed" });
    let shownStatus = null;
    show(
      h("p", {}, h("a", { href: "#" }, "← All campaigns")),
      h("h1", {}, campaign.title),
      h("p", {}, campaign.description),
      live,
      donate,
      h("h2", {}, "Recent donations"),
      feed);
    while (me === view) {
      // The form follows the campaign: it goes when an admin pauses or closes it.
      if (campaign.status !== shownStatus) {
        shownStatus = campaign.status;
        fill(donate, campaign.status === "ACTIVE" ? donateForm(campaign)
          : h("p", {}, statusTag(`${campaign.status}: not taking donations`)));
      }
      const [totals, donations] = await Promise.all([
        totalsOf(id),
        api("GET", `${path}/donations?limit=20`).catch(() => null),
      ]);
      if (me !== view) return;
      fill(live, progress(campaign, totals));
      if (donations) {
        fill(feed, ...(donations.items.length ? donations.items.map(donationLine) : [h("li", { class: "muted" }, "No donations yet. Be the first.")]));
      }
      await sleep(5000);
      if (me !== view) return;
      campaign = await api("GET", path).catch(() => campaign);
    }
  }

  // ---- Donating ----

  function donateForm(campaign) {
    const s = session();
    const message = h("div", { "aria-live": "assertive" });
    const submit = h("button", { type: "submit" }, "Donate");
    const form = h("form", { class: "card", novalidate: true, "aria-labelledby": "donate-heading" },
      h("h2", { id: "donate-heading" }, "Donate"),
      h("label", {}, `Amount (${campaign.currency})`,
        h("input", { name: "amount", inputmode: "decimal", autocomplete: "transaction-amount", required: true, placeholder: "25.00" })),
      h("label", {}, "Email (for your receipt)",
        h("input", { name: "email", type: "email", autocomplete: "email", required: true, value: s ? s.email : "", readonly: !!s })),
      h("label", {}, "Name (optional)", h("input", { name: "name", autocomplete: "name", maxlength: 200 })),
      h("label", { class: "check" }, h("input", { name: "anonymous", type: "checkbox" }), "Give anonymously (your name is not shown in the feed)"),
      message,
      h("div", { class: "actions" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      const data = new FormData(form);
      const amount = toMinor(String(data.get("amount")), campaign.currency);
      const email = String(data.get("email")).trim();
      if (!amount) {
        fill(message, errorLine(`Enter an amount in ${campaign.currency}, like 25 or 25.50.`));
        return;
      }
      if (!/^[^@\s]+@[^@\s]+$/.test(email)) {
        fill(message, errorLine("Enter the email your receipt should go to."));
        return;
      }
      const name = String(data.get("name")).trim();
      const body = {
        campaign_id: campaign.id,
        amount_minor: amount,
        currency: campaign.currency,
        donor: { email, name: name || null, anonymous: data.get("anonymous") === "on" },
      };
      submit.disabled = true;
      fill(message, h("p", {}, "Sending your donation…"));
      try {
        await submitPledge(intentFor(body));
      } catch (e) {
        fill(message, errorLine(e.message));
        submit.disabled = false;
      }
    });
    return form;
  }

  // The intent of this form's contents: the same key as long as the donor sends the same
  // donation, a new one when they change it.
  function intentFor(body) {
    const pending = stored(sessionStorage, INTENT, null);
    if (pending && JSON.stringify(pending.body) === JSON.stringify(body)) return pending;
    const intent = { key: newKey("web"), body };
    store(sessionStorage, INTENT, intent);
    return intent;
  }

  // Sends the pledge, retrying with the same key while the answer is lost or the server
  // is busy: the server makes one pledge and one provider payment for the key, however
  // often it arrives.
  async function submitPledge(intent) {
    const s = session();
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await asDonor("POST", "/api/v1/pledges", { body: intent.body, key: intent.key, token: s && s.token });
        const all = pledges();
        all[created.pledge.id] = {
          token: created.donor_token,
          payment: created.payment,
          campaign_id: created.pledge.campaign_id,
        };
        store(localStorage, PLEDGES, all);
        store(sessionStorage, INTENT, null);
        location.hash = `#pledge/${created.pledge.id}`;
        return;
      } catch (e) {
        const retryable = e.status === 0 || e.status === 409 || e.status >= 500;
        if (!retryable) store(sessionStorage, INTENT, null);
        if (!retryable || attempt >= 5) throw e;
        announce("The network is slow; trying again with the same donation…");
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  // ---- A pledge: the payment step and the receipt ----

  function tokenFor(id) {
    const mine = pledges()[id];
    if (mine) return mine.token;
    const s = session();
    if (s) return s.token;
    return stored(sessionStorage, HISTORY_TOKEN, null);
  }

  function anotherCardUrl(id, payment) {
    const back = `${location.origin}${location.pathname}#pledge/${id}`;
    return `${paymentPageUrl}/${encodeURIComponent(payment.provider_payment_id)}` +
      `?client_secret=${encodeURIComponent(payment.client_secret)}&return_url=${encodeURIComponent(back)}`;
  }

  async function pledgeView(me, id, returned) {
    const token = tokenFor(id);
    if (!token) {
      show(h("h1", {}, "Donation"), errorLine("This donation was made on another device or browser. Open it from the link in your receipt email."));
      return;
    }
    const mine = pledges()[id];
    const waitingSince = Date.now();
    let campaign = null;
    while (me === view) {
      const found = await asDonor("GET", `/api/v1/pledges/${encodeURIComponent(id)}`, { token });
      if (me !== view) return;
      const p = found.pledge;
      if (!campaign) campaign = await api("GET", `/api/v1/campaigns/${encodeURIComponent(p.campaign_id)}`).catch(() => null);
      const title = campaign ? campaign.title : p.campaign_id;
      // Back from the provider's page with a paid card, before its webhook has arrived.
      const confirming = returned === "succeeded" && p.status === "PAYMENT_FAILED" && Date.now() - waitingSince < 20000;
      if (["CAPTURED", "PARTIALLY_REFUNDED", "REFUNDED"].includes(p.status)) {
        show(receipt(p, title, token));
        announce("Your donation is confirmed.");
        return;
      }
      if (p.status === "PAYMENT_FAILED" && !confirming) {
        show(
          h("h1", {}, "Your card was declined"),
          h("p", { role: "alert", class: "error" }, "The payment did not go through and no money was taken. You can pay with another card; your donation stays the same."),
          facts(p, title),
          mine ? h("div", { class: "actions" }, h("a", { class: "button", href: anotherCardUrl(id, mine.payment) }, "Try another card"))
            : h("p", {}, "Open this donation on the device you gave from to try another card."));
        return;
      }
      if (p.status === "CANCELED") {
        show(h("h1", {}, "This donation was cancelled"), facts(p, title), h("p", {}, "No money was taken."));
        return;
      }
      if (p.status === "AUTHORIZED" && Date.now() - waitingSince > 15000) {
        show(h("h1", {}, "Payment authorized"), facts(p, title), h("p", {}, "Your card is authorized; the money is taken when the campaign confirms it."));
        return;
      }
      show(h("h1", {}, "Processing your payment…"), facts(p, title), h("p", { role: "status" }, "This takes a few seconds. You can leave this page open."));
      await sleep(700);
    }
  }

  function facts(p, title) {
    return h("dl", { class: "facts" },
      h("dt", {}, "Campaign"), h("dd", {}, title),
      h("dt", {}, "Amount"), h("dd", {}, money(p.amount_minor, p.currency)),
      p.refunded_minor ? [h("dt", {}, "Refunded"), h("dd", {}, money(p.refunded_minor, p.currency))] : null,
      h("dt", {}, "Status"), h("dd", { "data-testid": "pledge-status" }, p.status),
      h("dt", {}, "Reference"), h("dd", {}, p.id),
      h("dt", {}, "Date"), h("dd", {}, when(p.created_at_ms)));
  }

  function receipt(p, title, token) {
    return h("section", { class: "card", "aria-labelledby": "receipt-heading" },
      h("h1", { id: "receipt-heading" }, "Thank you for your donation"),
      facts(p, title),
      h("p", {}, `A receipt is on its way to ${p.donor_email}.`),
      h("p", {}, h("a", { href: `#history=${encodeURIComponent(token)}`, "data-testid": "history-link" }, "See your donation history"),
        h("span", { class: "muted" }, " (keep this link: it opens your donations without an account)")));
  }

  // ---- History ----

  async function historyView(me) {
    const s = session();
    const linkToken = stored(sessionStorage, HISTORY_TOKEN, null);
    let items = [];
    let who;
    if (s) {
      who = `Donations of ${s.email}, including those made before you signed up.`;
      items = (await asDonor("GET", "/api/v1/donors/me/pledges?limit=100", { token: s.token })).items;
    } else if (linkToken) {
      who = "Donations opened by your receipt link.";
      items = (await api("GET", "/api/v1/donors/me/pledges?limit=100", { token: linkToken })).items;
    } else {
      who = "Donations made from this browser. Sign in to see all donations of your email.";
      const tokens = Object.values(pledges()).map((p) => p.token).slice(-50);
      const pages = await Promise.all(tokens.map((t) => api("GET", "/api/v1/donors/me/pledges", { token: t }).catch(() => null)));
      const seen = new Map();
      for (const page of pages) for (const p of (page ? page.items : [])) seen.set(p.id, p);
      items = [...seen.values()].sort((a, b) => b.created_at_ms - a.created_at_ms);
    }
    if (me !== view) return;
    const titles = new Map();
    await Promise.all([...new Set(items.map((p) => p.campaign_id))].map(async (cid) => {
      const c = await api("GET", `/api/v1/campaigns/${encodeURIComponent(cid)}`).catch(() => null);
      titles.set(cid, c ? c.title : cid);
    }));
    if (me !== view) return;
    show(
      h("h1", {}, "Your donations"),
      h("p", { class: "muted" }, who),
      items.length === 0 ? h("p", {}, "No donations yet.") :
        h("div", { class: "table-wrap" }, h("table", { "data-testid": "history" },
          h("caption", { class: "visually-hidden" }, "Your donations, newest first"),
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Date"), h("th", { scope: "col" }, "Campaign"), h("th", { scope: "col" }, "Amount"), h("th", { scope: "col" }, "Status"))),
          h("tbody", {}, items.map((p) => h("tr", { "data-pledge": p.id },
            h("td", {}, when(p.created_at_ms)),
            h("td", {}, h("a", { href: `#pledge/${p.id}` }, titles.get(p.campaign_id))),
            h("td", {}, money(p.amount_minor, p.currency)),
            h("td", {}, p.status)))))));
  }

  // ---- Accounts ----

  function credentialsForm(id, legend, button, onSubmit) {
    const message = h("div", { "aria-live": "assertive" });
    const submit = h("button", { type: "submit" }, button);
    const form = h("form", { class: "card", "aria-labelledby": `${id}-heading` },
      h("h2", { id: `${id}-heading` }, legend),
      h("label", {}, "Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
      h("label", {}, "Password", h("input", { name: "password", type: "password", required: true, minlength: id === "sign-up" ? 10 : null,
        autocomplete: id === "sign-up" ? "new-password" : "current-password" })),
      message, h("div", { class: "actions" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      submit.disabled = true;
      try {
        fill(message, await onSubmit(String(data.get("email")).trim(), String(data.get("password"))));
      } catch (e) {
        fill(message, errorLine(e.message));
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async function signIn(email, password) {
    try {
      const s = await api("POST", "/api/v1/sessions", { body: { email, password } });
      store(sessionStorage, SESSION, { token: s.token, email, expires_at: s.expires_at });
      updateAccountLink();
      location.hash = "#history";
      return h("p", { class: "ok" }, "Signed in.");
    } catch (e) {
      const code = e.problem && e.problem.code;
      if (code === "invalid_credentials") throw new Error("That email and password do not match an account.");
      if (code === "email_unconfirmed") throw new Error("Confirm your email first: open the link we sent you.");
      if (code === "too_many_attempts") throw new Error("Too many attempts. Wait a few minutes, then try again.");
      throw e;
    }
  }

  async function signUp(email, password) {
    await api("POST", "/api/v1/accounts", { body: { email, password } });
    return h("p", { class: "ok", role: "status" }, `We sent a confirmation link to ${email}. Open it, then sign in.`);
  }

  function accountView() {
    const s = session();
    if (s) {
      const out = h("button", { type: "button", class: "secondary" }, "Sign out");
      out.addEventListener("click", async () => {
        out.disabled = true;
        await asDonor("DELETE", "/api/v1/sessions/current", { token: s.token }).catch(() => null);
        endSession("Signed out.");
        location.hash = "#account";
      });
      show(h("h1", {}, "Your account"), h("p", {}, `Signed in as ${s.email}.`),
        h("div", { class: "actions" }, h("a", { class: "button", href: "#history" }, "Your donations"), out));
      return;
    }
    show(h("h1", {}, "Sign in"),
      h("div", { class: "split" },
        credentialsForm("sign-in", "Sign in", "Sign in", signIn),
        credentialsForm("sign-up", "Create an account", "Create account", signUp)));
  }

  async function confirmView(token) {
    try {
      await api("POST", "/api/v1/accounts/confirmations", { body: { token } });
      show(h("h1", {}, "Email confirmed"), h("p", { class: "ok", role: "status" }, "Your email is confirmed. Sign in to see your donations."),
        credentialsForm("sign-in", "Sign in", "Sign in", signIn));
    } catch (e) {
      show(h("h1", {}, "Email not confirmed"), errorLine(e.message));
    }
  }

  // ---- Routing ----

  async function route() {
    const me = ++view;
    const hash = decodeURIComponent(location.hash.slice(1));
    const params = new URLSearchParams(location.search);
    const returned = params.get("redirect_status");
    if (returned) history.replaceState(null, "", location.pathname + location.hash);
    try {
      const pending = stored(sessionStorage, INTENT, null);
      if (pending && !resumed) {
        resumed = true;
        // Reloaded while the donation was on its way: send it again with its key.
        show(h("h1", {}, "Finishing your donation…"), h("p", { role: "status" }, "Sending it again; you will not be charged twice."));
        await submitPledge(pending);
        return;
      }
      resumed = true;
      if (hash.startsWith("campaign/")) return await campaignView(me, hash.slice(9));
      if (hash.startsWith("pledge/")) return await pledgeView(me, hash.slice(7), returned);
      if (hash.startsWith("history=")) {
        store(sessionStorage, HISTORY_TOKEN, hash.slice(8));
        history.replaceState(null, "", `${location.pathname}#history`);
        return await historyView(me);
      }
      if (hash === "history") return await historyView(me);
      if (hash === "account") return accountView();
      if (hash.startsWith("confirm=")) return await confirmView(hash.slice(8));
      return await campaignsView(me);
    } catch (e) {
      if (me === view) show(h("h1", {}, "Something went wrong"), errorLine(e.message), h("p", {}, h("a", { href: "#" }, "Back to the campaigns")));
    }
  }

  window.addEventListener("hashchange", route);
  updateAccountLink();
  route();
})();

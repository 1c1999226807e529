// The donor page and the admin panel in a real browser, against the real app, its relay
// and the payment simulator (started by tests/browser_pages.rs). The books are checked
// through the admin API and the simulator's ledger: one pledge and one provider payment
// per donation, whatever the browser did.
import { test as base, expect, request as apiRequest } from "@playwright/test";
import { mkdirSync } from "node:fs";

const BASE = process.env.BASE_URL;
const SIM = process.env.SIM_URL;
const ADMIN = process.env.ADMIN_TOKEN;
const SHOTS = `${process.env.ARTIFACTS_DIR || "test-results"}/screenshots`;
mkdirSync(SHOTS, { recursive: true });

// Every test fails on a page error or a console error, except network errors of the
// statuses the test provokes on purpose (a wrong password answers 401).
const test = base.extend({
  expectedStatuses: [[], { option: true }],
  console: [async ({ page }, use) => {
    const errors = [];
    const allowed = new Set();
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() !== "error") return;
      const status = /status of (\d{3})/.exec(m.text());
      if (status && allowed.has(Number(status[1]))) return;
      errors.push(`console: ${m.text()}`);
    });
    await use({ allow: (...statuses) => statuses.forEach((s) => allowed.add(s)) });
    expect(errors, "console errors").toEqual([]);
  }, { auto: true }],
});

let api;
test.beforeAll(async () => {
  api = await apiRequest.newContext({ extraHTTPHeaders: { authorization: `Bearer ${ADMIN}` } });
});

let serial = 0;
const unique = (what) => `${what}-${Date.now().toString(36)}-${++serial}`;

async function createCampaign(title, goalMinor = 500000) {
  const r = await api.post(`${BASE}/api/v1/campaigns`, {
    data: { title, description: `Medical care: ${title}.`, goal_minor: goalMinor, currency: "USD" },
  });
  expect(r.status()).toBe(201);
  return r.json();
}

async function pledgesOf(email) {
  const r = await api.get(`${BASE}/api/v1/donors/me/pledges?limit=100`);
  expect(r.status()).toBe(200);
  return (await r.json()).items.filter((p) => p.donor_email === email);
}

async function providerPaymentsFor(pledgeIds) {
  const ledger = await (await api.get(`${SIM}/_sim/ledger`)).json();
  return ledger.payments.filter((p) => pledgeIds.includes(p.metadata.pledge_id));
}

// Exactly one pledge for `email` and exactly one provider payment for it.
async function expectOneDonation(email, amountMinor) {
  const mine = await pledgesOf(email);
  expect(mine.map((p) => p.amount_minor)).toEqual([amountMinor]);
  const payments = await providerPaymentsFor(mine.map((p) => p.id));
  expect(payments).toHaveLength(1);
  return { pledge: mine[0], payment: payments[0] };
}

// A phone-sized screenshot, or a desktop-sized one for the admin's wide tables.
async function shot(page, name, width = 375) {
  const phone = page.viewportSize();
  if (width !== phone.width) await page.setViewportSize({ width, height: 900 });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  if (width !== phone.width) await page.setViewportSize(phone);
}

async function fillDonation(page, { amount, email, name }) {
  await page.getByLabel(/^Amount/).fill(amount);
  await page.getByLabel(/^Email/).fill(email);
  if (name) await page.getByLabel(/^Name/).fill(name);
}

async function openCampaign(page, campaign) {
  await page.goto(`/#campaign/${campaign.id}`);
  await expect(page.getByRole("heading", { level: 1, name: campaign.title })).toBeVisible();
}

async function donateAsGuest(page, campaign, donation) {
  await openCampaign(page, campaign);
  await fillDonation(page, donation);
  await page.getByRole("button", { name: "Donate" }).click();
  await expect(page.getByRole("heading", { name: "Thank you for your donation" })).toBeVisible();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
}

// The checks of a Lighthouse accessibility and best-practice pass that matter here.
async function expectUsablePage(page) {
  const report = await page.evaluate(() => {
    const controls = [...document.querySelectorAll("input:not([type=hidden]), select, textarea, button, progress")];
    const unlabelled = controls.filter((el) => {
      const named = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") ||
        el.getAttribute("aria-labelledby") || (el.tagName === "BUTTON" && el.textContent.trim());
      return !named;
    }).map((el) => el.outerHTML);
    return {
      unlabelled,
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      lang: document.documentElement.lang,
      title: document.title,
      viewport: document.querySelector('meta[name="viewport"]')?.content,
      h1: document.querySelectorAll("h1").length,
    };
  });
  expect(report.unlabelled, "form controls without a label").toEqual([]);
  expect(report.overflow, "horizontal scrolling at 375 px").toBeLessThanOrEqual(0);
  expect(report.lang).toBe("en");
  expect(report.title).not.toBe("");
  expect(report.viewport).toContain("width=device-width");
  expect(report.h1).toBe(1);
}

test("a guest donates end to end and sees CAPTURED and the receipt link", async ({ page }) => {
  const campaign = await createCampaign(unique("Clean water"));
  const email = `${unique("ada")}@example.org`;
  await page.goto("/");
  const card = page.locator(`[data-campaign="${campaign.id}"]`);
  await expect(card).toBeVisible();
  await expectUsablePage(page);
  await shot(page, "donor-page");
  await card.getByRole("link", { name: `Donate to ${campaign.title}` }).click();
  await expect(page.getByRole("heading", { level: 1, name: campaign.title })).toBeVisible();
  await expectUsablePage(page);
  await fillDonation(page, { amount: "25.00", email, name: "Ada" });
  await page.getByRole("button", { name: "Donate" }).click();
  await expect(page.getByRole("heading", { name: "Thank you for your donation" })).toBeVisible();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  await expect(page.getByText(`A receipt is on its way to ${email}`)).toBeVisible();
  await expectUsablePage(page);
  await shot(page, "receipt");
  const { pledge } = await expectOneDonation(email, 2500);

  // The guest history link opens the donations of this pledge's token, on any device.
  const link = await page.getByTestId("history-link").getAttribute("href");
  const elsewhere = await page.context().browser().newPage({ viewport: { width: 375, height: 812 } });
  await elsewhere.goto(`${BASE}/${link}`);
  await expect(elsewhere.locator(`tr[data-pledge="${pledge.id}"]`)).toContainText("CAPTURED");
  expect(elsewhere.url()).not.toContain("history=");
  // So does the receipt email's link to the page.
  const mail = await mailTo(email, "receipt");
  expect(mail.history_page_url.startsWith(`${BASE}/#history=`)).toBe(true);
  await elsewhere.goto(mail.history_page_url);
  await expect(elsewhere.locator(`tr[data-pledge="${pledge.id}"]`)).toContainText("CAPTURED");
  await elsewhere.close();

  // The feed shows the donor by name, and the campaign's live total follows.
  await openCampaign(page, campaign);
  await expect(page.locator(".feed")).toContainText("Ada gave $25.00");
  await expect(page.getByTestId("raised")).toHaveText("$25.00");
});

test("an anonymous donor is shown as such in the feed", async ({ page }) => {
  const campaign = await createCampaign(unique("Anonymous care"));
  await openCampaign(page, campaign);
  await fillDonation(page, { amount: "7", email: `${unique("anon")}@example.org`, name: "Secret Name" });
  await page.getByLabel(/Give anonymously/).check();
  await page.getByRole("button", { name: "Donate" }).click();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  await openCampaign(page, campaign);
  await expect(page.locator(".feed")).toContainText("Anonymous gave $7.00");
  await expect(page.locator(".feed")).not.toContainText("Secret Name");
});

test("a double click on donate makes one pledge and one provider payment", async ({ page, console }) => {
  console.allow(409); // the second of two concurrent sends: "in progress", retried by the page
  const campaign = await createCampaign(unique("Double click"));
  const email = `${unique("quick")}@example.org`;
  await openCampaign(page, campaign);
  await fillDonation(page, { amount: "12.34", email });
  await page.getByRole("button", { name: "Donate" }).dblclick();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  // And a form sent twice by script, past the disabled button: the same key both times.
  await openCampaign(page, campaign);
  const again = `${unique("twice")}@example.org`;
  await fillDonation(page, { amount: "12.35", email: again });
  await page.locator("form").first().evaluate((form) => {
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    form.querySelector("button").disabled = false;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
  });
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  await expectOneDonation(email, 1234);
  await expectOneDonation(again, 1235);
});

test("a reload while the pledge is on its way makes one pledge and one provider payment", async ({ page }) => {
  const campaign = await createCampaign(unique("Reload"));
  const email = `${unique("reload")}@example.org`;
  await openCampaign(page, campaign);
  await fillDonation(page, { amount: "40.00", email });
  // The server gets the pledge and answers, but the answer never reaches the page: the
  // donor reloads first.
  let reachedServer;
  const served = new Promise((resolve) => { reachedServer = resolve; });
  let sends = 0;
  await page.route("**/api/v1/pledges", async (route) => {
    if (++sends > 1) return route.continue(); // the reloaded page's send goes through
    const answer = await route.fetch();
    expect(answer.status()).toBe(201);
    reachedServer();
    await new Promise(() => {}); // the answer is lost with the page
  });
  await page.getByRole("button", { name: "Donate" }).click();
  await served;
  await page.reload();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  expect(sends).toBe(2); // sent again after the reload, with the same key
  // A reload on the receipt changes nothing either.
  await page.reload();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  await expectOneDonation(email, 4000);
});

test("a declined card shows a clear message and another card pays", async ({ page }) => {
  const campaign = await createCampaign(unique("Declined"));
  const email = `${unique("declined")}@example.org`;
  await openCampaign(page, campaign);
  await fillDonation(page, { amount: "20.13", email }); // the simulator declines …13
  await page.getByRole("button", { name: "Donate" }).click();
  await expect(page.getByRole("heading", { name: "Your card was declined" })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("no money was taken");
  await expect(page.getByTestId("pledge-status")).toHaveText("PAYMENT_FAILED");
  await shot(page, "declined");
  await page.getByRole("link", { name: "Try another card" }).click();
  // The provider's hosted page: first another declined card, then one that pays.
  await expect(page.getByRole("heading", { name: "Pay 20.13 USD" })).toBeVisible();
  await page.getByLabel("Visa ending 0002 (declined)").check();
  await page.getByRole("button", { name: "Pay 20.13 USD" }).click();
  await expect(page.getByRole("heading", { name: "Your card was declined" })).toBeVisible();
  await page.getByRole("link", { name: "Try another card" }).click();
  await page.getByLabel("Visa ending 4242 (pays)").check();
  await page.getByRole("button", { name: "Pay 20.13 USD" }).click();
  await expect(page.getByRole("heading", { name: "Thank you for your donation" })).toBeVisible();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  expect(new URL(page.url()).search).toBe("");
  const { payment } = await expectOneDonation(email, 2013);
  expect(payment.amount_received).toBe(2013);
  expect(payment.attempts).toBe(3);
});

test("sign up, confirm, sign in: the history shows the earlier guest pledges", async ({ page, console }) => {
  const campaign = await createCampaign(unique("Accounts"));
  const email = `${unique("grace")}@example.org`;
  const password = "correct horse battery staple";
  await donateAsGuest(page, campaign, { amount: "15.00", email, name: "Grace" });
  const [guestPledge] = await pledgesOf(email);

  await page.goto("/#account");
  await expectUsablePage(page);
  const signUp = page.locator("form", { has: page.getByRole("heading", { name: "Create an account" }) });
  await signUp.getByLabel("Email").fill(email);
  await signUp.getByLabel("Password").fill(password);
  await signUp.getByRole("button", { name: "Create account" }).click();
  await expect(signUp.getByText(`We sent a confirmation link to ${email}`)).toBeVisible();

  // Not confirmed yet, then a wrong password: each gets its own clear answer.
  console.allow(401, 403);
  const signIn = page.locator("form", { has: page.getByRole("heading", { name: "Sign in" }) });
  await signIn.getByLabel("Email").fill(email);
  await signIn.getByLabel("Password").fill(password);
  await signIn.getByRole("button", { name: "Sign in" }).click();
  await expect(signIn.getByRole("alert")).toHaveText("Confirm your email first: open the link we sent you.");

  const confirmUrl = (await mailTo(email, "account_confirmation")).confirm_url;
  expect(confirmUrl.startsWith(`${BASE}/#confirm=`)).toBe(true);
  await page.goto(confirmUrl);
  await expect(page.getByRole("heading", { name: "Email confirmed" })).toBeVisible();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("wrong password, surely");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("That email and password do not match an account.");
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();

  await expect(page.getByRole("heading", { name: "Your donations" })).toBeVisible();
  await expect(page.getByText(`Donations of ${email}`)).toBeVisible();
  await expect(page.locator(`tr[data-pledge="${guestPledge.id}"]`)).toContainText("CAPTURED");
  await expectUsablePage(page);
  await shot(page, "history");

  // Signed in, a donation goes to the account's own scope with its email filled in.
  await openCampaign(page, campaign);
  await expect(page.getByLabel(/^Email/)).toHaveValue(email);
  await page.getByLabel(/^Amount/).fill("5");
  await page.getByRole("button", { name: "Donate" }).click();
  await expect(page.getByTestId("pledge-status")).toHaveText("CAPTURED");
  await page.goto("/#history");
  await expect(page.locator("tr[data-pledge]")).toHaveCount(2);

  await page.goto("/#account");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("link", { name: "Sign in" })).toBeVisible();
});

// The first email of `kind` to `email` at the notification gateway (the simulator's inbox).
async function mailTo(email, kind) {
  for (let i = 0; i < 60; i++) {
    const inbox = await (await api.get(`${SIM}/_sim/inbox/notifications`)).json();
    const mail = inbox.find((n) => n.body.kind === kind && n.body.to === email);
    if (mail) return mail.body;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`no ${kind} email for ${email}`);
}

test("the admin refunds part of a pledge and the donor page's total follows", async ({ page, browser }) => {
  const campaign = await createCampaign(unique("Refunds"));
  const email = `${unique("refund")}@example.org`;
  await donateAsGuest(page, campaign, { amount: "50.00", email, name: "Linus" });
  const [pledge] = await pledgesOf(email);
  await openCampaign(page, campaign);
  await expect(page.getByTestId("raised")).toHaveText("$50.00");

  const admin = await browser.newPage({ viewport: { width: 375, height: 812 } });
  const adminErrors = [];
  // The wrong token below answers 403, which Chromium logs as a failed load.
  admin.on("console", (m) => m.type() === "error" && !/status of 403/.test(m.text()) && adminErrors.push(m.text()));
  admin.on("pageerror", (e) => adminErrors.push(e.message));
  await admin.goto(`${BASE}/admin`);
  await expectUsablePage(admin);
  await admin.getByLabel("Admin token").fill("not the admin token");
  await admin.getByRole("button", { name: "Sign in" }).click();
  await expect(admin.getByRole("alert")).toHaveText("That is not the admin token.");
  await admin.getByLabel("Admin token").fill(ADMIN);
  await admin.getByRole("button", { name: "Sign in" }).click();
  await expect(admin.getByRole("heading", { name: "Campaigns" })).toBeVisible();

  // A campaign made in the panel is on the donor page, open for donations.
  const fresh = unique("Made in the panel");
  await admin.getByLabel("Title").fill(fresh);
  await admin.getByLabel("Description").fill("Insulin for a school nurse's office.");
  await admin.getByLabel("Goal").fill("1200");
  await admin.getByRole("button", { name: "Create campaign" }).click();
  await expect(admin.getByText(`Created "${fresh}".`)).toBeVisible();
  await expect(admin.locator("tr", { hasText: fresh })).toContainText("$1,200.00");
  const made = (await (await api.get(`${BASE}/api/v1/campaigns?limit=100`)).json()).items.find((c) => c.title === fresh);
  expect(made.goal_minor).toBe(120000);
  await expect(admin.locator(`tr[data-campaign="${campaign.id}"]`)).toContainText("$50.00");
  await expect(admin.getByTestId("reconciliation")).toBeVisible();
  await expectUsablePage(admin);
  await shot(admin, "admin-panel", 1100);

  await admin.getByLabel("Pledge id").fill(pledge.id);
  await admin.getByRole("button", { name: "Find pledge" }).click();
  await expect(admin.getByTestId("admin-pledge-status")).toHaveText("CAPTURED");
  await admin.getByLabel(/^Amount \(USD/).fill("20");
  await admin.getByLabel("Reason").fill("donor asked");
  await admin.getByRole("button", { name: "Refund…" }).click();
  const dialog = admin.getByRole("dialog", { name: "Refund this donation?" });
  await expect(dialog).toContainText(`$20.00 goes back to ${email}`);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  expect((await pledgesOf(email))[0].refunded_minor).toBe(0);
  await admin.getByRole("button", { name: "Refund…" }).click();
  await dialog.getByRole("button", { name: "Refund" }).click();
  await expect(admin.getByTestId("admin-pledge-status")).toHaveText("PARTIALLY_REFUNDED");
  await expect(admin.getByTestId("admin-pledge-refunded")).toHaveText("$20.00");
  await shot(admin, "admin-refund", 1100);

  // The relay folds the refund into the totals; the open donor page follows by itself.
  await expect(page.getByTestId("raised")).toHaveText("$30.00");
  const [after] = await pledgesOf(email);
  expect(after.refunded_minor).toBe(2000);
  const [payment] = await providerPaymentsFor([pledge.id]);
  expect(payment.amount_refunded).toBe(2000);

  // Pause and close from the panel; the donor page stops offering the form.
  const row = admin.locator(`tr[data-campaign="${campaign.id}"]`);
  await row.getByRole("button", { name: `Pause ${campaign.title}` }).click();
  await expect(row).toContainText("PAUSED");
  await row.getByRole("button", { name: `Close ${campaign.title}` }).click();
  await admin.getByRole("dialog").getByRole("button", { name: "Close campaign" }).click();
  await expect(row).toContainText("CLOSED");
  await openCampaign(page, campaign);
  await expect(page.getByRole("button", { name: "Donate" })).toHaveCount(0);
  await admin.close();
  expect(adminErrors).toEqual([]);
});

test("a page on another site cannot act on the API", async ({ page, console }) => {
  console.allow(403, 404); // the refusal, and the other site's missing favicon
  const before = (await (await api.get(`${BASE}/api/v1/campaigns?limit=100`)).json()).items.length;
  await page.goto(`${SIM}/_sim/config`); // another origin
  const title = unique("forged");
  await page.evaluate(async ({ base, title }) => {
    await fetch(`${base}/api/v1/campaigns`, {
      method: "POST", mode: "no-cors", headers: { "content-type": "text/plain" },
      body: JSON.stringify({ title, goal_minor: 100, currency: "USD" }),
    }).catch(() => null);
    const form = document.createElement("form");
    form.method = "post";
    form.action = `${base}/api/v1/campaigns`;
    form.enctype = "text/plain";
    const field = document.createElement("input");
    field.name = `{"title":"${title}","goal_minor":100,"currency":"USD","x":"`;
    field.value = '"}';
    form.append(field);
    document.body.append(form);
    form.submit();
  }, { base: BASE, title });
  // The form's navigation shows the API's answer: refused as a cross-site write.
  await expect(page.locator("body")).toContainText("cross_site_request");
  const after = (await (await api.get(`${BASE}/api/v1/campaigns?limit=100`)).json()).items;
  expect(after.filter((c) => c.title === title)).toEqual([]);
  expect(after.length).toBe(before);
});

test("the pages carry their security headers and hashed, long-cached assets", async ({ page }) => {
  for (const path of ["/", "/admin"]) {
    const response = await page.goto(path);
    const headers = response.headers();
    expect(headers["content-security-policy"]).toContain("script-src 'self'");
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["cache-control"]).toBe("no-cache");
    const assets = await page.evaluate(() => [...document.querySelectorAll("script[src], link[rel=stylesheet]")]
      .map((el) => el.getAttribute("src") || el.getAttribute("href")));
    expect(assets.length).toBe(3);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/assets\/[a-z]+\.[0-9a-f]{12}\.(js|css)$/);
      const r = await api.get(`${BASE}${asset}`);
      expect(r.status()).toBe(200);
      expect(r.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
    }
  }
});

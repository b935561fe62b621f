// Browser test of the web console (cmd/eusaas TestConsoleBrowser starts the server and runs
// this): headless Chromium through playwright-core, axe-core on every page.
//
//   node e2e.mjs <base-url>
// Environment: CONSOLE_NODE_MODULES (directory holding node_modules with playwright-core and
// axe-core), CHROMIUM (the browser), CONSOLE_FIXTURE (JSON: tenants, users, passwords),
// CONSOLE_SCREENSHOTS (optional: directory for PNGs of the main pages).
import { createRequire } from "node:module";
import path from "node:path";
import fs from "node:fs";
import crypto from "node:crypto";

// totp is RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps) computed here from the secret the
// console showed, not by the code under test.
function totp(secretB32, atMs) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secretB32.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(atMs / 1000 / 30)));
  const h = crypto.createHmac("sha1", key).update(msg).digest();
  const off = h[h.length - 1] & 0x0f;
  return String((h.readUInt32BE(off) & 0x7fffffff) % 1000000).padStart(6, "0");
}

const base = process.argv[2];
const require = createRequire(path.join(process.env.CONSOLE_NODE_MODULES || process.cwd(), "noop.js"));
const { chromium } = require("playwright-core");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const fx = JSON.parse(process.env.CONSOLE_FIXTURE);
const shots = process.env.CONSOLE_SCREENSHOTS || "";

const failures = [];
const offHost = [];
const consoleErrors = [];
const checked = [];
// Pages the test requests knowing they are refused: Chromium logs their status as a console
// error, which is the expected outcome there and nowhere else.
const expectRefused = new Set();
function check(cond, msg) {
  if (!cond) failures.push(msg);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps"],
});

async function newPage(who) {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  // Every request must stay on 127.0.0.1: anything else is recorded and aborted.
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.hostname !== "127.0.0.1" && u.protocol !== "data:") {
      offHost.push(`${who}: ${route.request().url()}`);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    if (expectRefused.has(page.url()) && /^Failed to load resource: the server responded with a status of 4(03|22) /.test(m.text())) return;
    consoleErrors.push(`${who} ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => consoleErrors.push(`${who} ${page.url()}: ${e.message}`));
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.hostname !== "127.0.0.1" && u.protocol !== "data:") offHost.push(`${who}: ${r.url()}`);
  });
  return page;
}

// axe runs in the page through the DevTools protocol (page.evaluate), which the page's CSP
// does not govern; injecting a <script> would be refused by it, as it should be.
async function axe(page, name) {
  await page.evaluate(axeSource);
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  const bad = res.filter((v) => v.impact === "serious" || v.impact === "critical");
  checked.push({ page: name, violations: res.length, serious: bad.length });
  for (const v of bad) failures.push(`axe ${name}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`);
}

async function shot(page, name) {
  if (!shots) return;
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

async function signIn(page, tenant, email, password) {
  await page.goto(`${base}/console/signin`);
  await page.fill("#tenant", tenant);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("button[type=submit]:has-text('Sign in')")]);
}

async function signOut(page) {
  await page.click("header button:has-text('Sign out')");
  await page.waitForURL(/\/console\/signin/);
}

const T = `${base}/console/t/${fx.acme}`;
try {
  // Owner.
  const p = await newPage("owner");
  await page_signin_checks(p);
  await signIn(p, "acme", fx.owner.email, fx.owner.password);
  check(p.url() === `${T}/overview`, `owner lands on the overview, not ${p.url()}`);
  const bars = await p.$$eval("#daily-chart g.bars rect", (rs) => rs.filter((r) => parseFloat(r.getAttribute("height")) > 0).length);
  check(bars >= 90 * 5 - 5, `the daily chart draws its bars (${bars} drawn)`);
  const title = await p.$eval("#daily-chart title", (t) => t.textContent);
  check(title.length > 0, "the chart has a title");
  check(await p.$$eval("svg.chart line.budget", (l) => l.length) === 1, "the budget line is drawn");
  await axe(p, "overview");
  await shot(p, "overview");

  await p.goto(`${T}/anomalies`);
  await axe(p, "anomalies");
  await shot(p, "anomalies");
  const acks = await p.$$("button:has-text('Acknowledge')");
  check(acks.length > 0, "an anomaly to acknowledge");
  if (acks.length > 0) {
    await Promise.all([p.waitForNavigation(), acks[0].click()]);
    check((await p.textContent("main")).includes("Anomaly acknowledged."), "acknowledged");
    check((await p.$$("button:has-text('Acknowledge')")).length === acks.length - 1, "one fewer to acknowledge");
  }

  await p.goto(`${T}/invoices`);
  await axe(p, "invoices");
  await shot(p, "invoices");
  await Promise.all([p.waitForNavigation(), p.click(`a[href$='/invoices/${fx.invoice}']`)]);
  await axe(p, "invoice");
  await shot(p, "invoice");
  const [dl] = await Promise.all([p.waitForEvent("download"), p.click("a[data-document=ubl]")]);
  const file = await dl.path();
  const xml = fs.readFileSync(file, "utf8");
  check(dl.suggestedFilename().endsWith(".ubl.xml"), `download name ${dl.suggestedFilename()}`);
  check(xml.includes("<Invoice") && xml.includes("Acme GmbH"), "the UBL invoice document downloaded");

  await p.goto(`${T}/users`);
  await p.fill("#invite-email", "carol@acme.example");
  await p.selectOption("#invite-role", "MEMBER");
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Send invitation')")]);
  check(await p.isVisible("#once-secret"), "the invitation token is shown once");
  const invitation = (await p.textContent("#once-secret")).trim();
  check((await p.textContent("main")).includes("carol@acme.example"), "the invitation is listed");
  await axe(p, "users");
  await shot(p, "users");

  // The invitee opens the mail's link (token and tenant in the fragment) in a fresh browser.
  const n = await newPage("invitee");
  await n.goto(`${base}/accept-invitation#token=${encodeURIComponent(invitation)}&tenant=acme`);
  check(n.url() === `${base}/console/accept`, `the link opens the accept form (${n.url()})`);
  check(await n.inputValue("#frag-token") === invitation, "the invitation token is filled in from the fragment");
  await axe(n, "accept");
  await n.fill("#email", "carol@acme.example");
  await n.fill("#full_name", "Carol Member");
  await n.fill("#password", "Carol-Passw0rd!");
  await Promise.all([n.waitForNavigation(), n.click("button:has-text('Create my account')")]);
  check((await n.textContent("main")).includes("Your account is ready."), "the invitee registered");
  await signIn(n, "acme", "carol@acme.example", "Carol-Passw0rd!");
  check(n.url() === `${T}/overview`, `the invitee signs in (${n.url()})`);
  await signOut(n);

  await p.goto(`${T}/audit`);
  check((await p.textContent("#chain-status")).includes("Chain verified"), "the audit chain verifies");
  await axe(p, "audit");
  await shot(p, "audit");

  for (const pg of ["usage", "gdpr", "settings", "alerts"]) {
    await p.goto(`${T}/${pg}`);
    await axe(p, pg);
    await shot(p, pg);
  }
  // A GDPR access request for the viewer, started and downloaded.
  await p.goto(`${T}/gdpr`);
  await p.selectOption("#dsr-type", "ACCESS");
  await p.selectOption("#dsr-subject", { label: fx.viewer.email });
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Record request')")]);
  check((await p.textContent("main")).includes("Request recorded."), "the GDPR request is recorded");
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Identity verified: start')")]);
  let exportLink = null;
  for (let i = 0; i < 100 && !exportLink; i++) {
    await p.waitForTimeout(200);
    await p.goto(`${T}/gdpr`);
    exportLink = await p.$("a[data-export]");
  }
  check(exportLink !== null, "the export completes and offers its download");
  if (exportLink) {
    const [exp] = await Promise.all([p.waitForEvent("download"), exportLink.click()]);
    check(fs.statSync(await exp.path()).size > 100, "the export archive downloaded");
  }
  await shot(p, "gdpr");

  // API keys: create one (shown once), then revoke it.
  await p.goto(`${T}/api-keys`);
  await p.fill("#key-name", "usage reporter");
  await p.check("#scope-0");
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Create key')")]);
  check(((await p.textContent("#once-secret")) || "").trim().startsWith("eusk_"), "the API key is shown once");
  check(await p.isVisible("tr[data-key='usage reporter']"), "the key is listed");
  await axe(p, "apikeys");
  await shot(p, "apikeys");

  // The billing profile form: an API field error shows beside its field, then a valid save.
  await p.goto(`${T}/billing-profile`);
  await axe(p, "billing-profile");
  await p.fill("#f-legal_name", "Acme GmbH");
  await p.fill("#f-email", "billing@acme.example");
  await p.fill("#f-address-line1", "Hauptstraße 1");
  await p.fill("#f-address-city", "Berlin");
  await p.fill("#f-address-country", "XX");
  expectRefused.add(`${T}/billing-profile`); // the form answers 422 with the API's errors
  await Promise.all([p.waitForNavigation(), p.click("main button:has-text('Save')")]);
  check(await p.isVisible("#f-address-country-err"), "the country's error is shown beside it");
  await axe(p, "billing-profile-error");
  await shot(p, "billing-profile-error");
  await p.fill("#f-address-country", "DE");
  await Promise.all([p.waitForNavigation(), p.click("main button:has-text('Save')")]);
  check(p.url() === `${T}/settings`, `saved, back on the settings (${p.url()})`);
  expectRefused.delete(`${T}/billing-profile`);

  // The second factor: enrol, confirm with a code computed here, sign out, sign in with
  // password + code, then turn it off again.
  await p.goto(`${base}/console/account`);
  await axe(p, "account");
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Set up an authenticator app')")]);
  const secret = ((await p.textContent("#totp-secret")) || "").trim();
  check(/^[A-Z2-7]{16,}$/.test(secret), `the TOTP secret is shown (${secret.length} characters)`);
  check(((await p.textContent("#totp-url")) || "").startsWith("otpauth://totp/"), "the otpauth URL is shown");
  check(await p.isVisible("img.qr"), "the QR code is drawn");
  await axe(p, "account-enrol");
  await shot(p, "account-enrol");
  await p.fill("#confirm-code", totp(secret, Date.now()));
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Confirm and turn on')")]);
  check((await p.$$("#recovery-codes li")).length === 10, "ten recovery codes shown once");
  await axe(p, "account-recovery");
  await shot(p, "account-recovery");
  await signOut(p);
  await signIn(p, "acme", fx.owner.email, fx.owner.password);
  check(p.url() === `${base}/console/mfa`, `the password leads to the code step (${p.url()})`);
  await axe(p, "mfa");
  // The confirming step's code is spent (no replay); the server accepts the next step's.
  await p.fill("#code", totp(secret, Date.now() + 30000));
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Verify')")]);
  check(p.url() === `${T}/overview`, `signed in with password and code (${p.url()})`);
  await p.goto(`${base}/console/account`);
  await p.fill("#disable-password", fx.owner.password);
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Turn off')")]);
  check((await p.textContent("main")).includes("The second factor is off."), "the second factor is turned off");

  // The language switch, keyboard only.
  await p.goto(`${T}/overview`);
  await p.focus("header button:has-text('Deutsch')");
  await Promise.all([p.waitForNavigation(), p.keyboard.press("Enter")]);
  check((await p.textContent("h1")) === "Übersicht", "German after the switch");
  await axe(p, "overview-de");
  await shot(p, "overview-de");
  await p.click("header button:has-text('English')");
  await signOut(p);

  // Operator: suspend and reactivate a tenant.
  const o = await newPage("operator");
  await signIn(o, "", fx.operator.email, fx.operator.password);
  check(o.url() === `${base}/console/tenants`, `operator lands on tenants, not ${o.url()}`);
  await axe(o, "tenants");
  await shot(o, "tenants");
  const row = "tr[data-tenant=globex]";
  await Promise.all([o.waitForNavigation(), o.click(`${row} button:has-text('Suspend')`)]);
  check((await o.textContent(`${row} .status`)) === "SUSPENDED", "globex suspended");
  // Deletion stays disabled until the slug is typed exactly.
  check(await o.isDisabled(`${row} button.danger`), "delete disabled before the slug is typed");
  await o.fill(`${row} input[name=confirm]`, "globe");
  check(await o.isDisabled(`${row} button.danger`), "delete disabled for a wrong slug");
  await o.fill(`${row} input[name=confirm]`, "");
  await Promise.all([o.waitForNavigation(), o.click(`${row} button:has-text('Activate')`)]);
  check((await o.textContent(`${row} .status`)) === "ACTIVE", "globex active again");
  await o.goto(`${base}/console/platform`);
  check((await o.textContent("#platform-chain-status")).includes("Chain verified"), "the platform chain verifies");
  await axe(o, "platform");
  await o.goto(`${base}/console/seller`);
  await axe(o, "seller");
  await shot(o, "seller");
  // Plans and metrics: a plan created through its form, listed; the tenant list offers it.
  await o.goto(`${base}/console/plans`);
  await o.fill("#np-code", "team");
  await o.fill("#np-name", "Team");
  await o.fill("#np-fee", "49.00");
  await o.fill("#np-inc", "CPU=100");
  await o.fill("#np-users", "10");
  await Promise.all([o.waitForNavigation(), o.click("button:has-text('Create plan')")]);
  check((await o.$("tr[data-plan=team]")) !== null, "the plan is listed after its form");
  await axe(o, "plans");
  await shot(o, "plans");
  await o.goto(`${base}/console/tenants`);
  check((await o.$$("select[name=plan_code]")).length > 0, "the tenant list offers the plans");
  await axe(o, "tenants-plans");
  await o.goto(`${base}/console/platform`);
  await shot(o, "platform");
  await signOut(o);

  // Viewer: no write actions anywhere.
  const v = await newPage("viewer");
  await signIn(v, "acme", fx.viewer.email, fx.viewer.password);
  for (const pg of ["overview", "anomalies", "invoices", `invoices/${fx.invoice}`, "users", "audit", "usage", "alerts"]) {
    await v.goto(`${T}/${pg}`);
    const writes = await v.$$eval("[data-write]", (e) => e.length);
    check(writes === 0, `viewer sees ${writes} write actions on ${pg}`);
    check((await v.$$("button:has-text('Acknowledge'), button:has-text('Send invitation')")).length === 0, `viewer sees no action buttons on ${pg}`);
    await axe(v, `viewer-${pg}`);
  }
  // Another tenant's page is refused.
  expectRefused.add(`${base}/console/t/${fx.globex}/overview`);
  const r = await v.goto(`${base}/console/t/${fx.globex}/overview`);
  check(r.status() === 403, `another tenant's overview answers ${r.status()}`);
  await axe(v, "forbidden");
  await signOut(v);
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
} finally {
  await browser.close();
}

async function page_signin_checks(p) {
  await p.goto(`${base}/console/signin`);
  await axe(p, "signin");
  await shot(p, "signin");
  // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
  await p.keyboard.press("Tab");
  check(await p.evaluate(() => document.activeElement && document.activeElement.classList.contains("skip")), "first Tab focuses the skip link");
  await p.goto(`${base}/console/forgot`);
  await axe(p, "forgot");
  await p.goto(`${base}/console/reset#token=abc&tenant=acme`);
  check(await p.inputValue("#frag-token") === "abc", "the reset token is taken from the link's fragment");
  check(!p.url().includes("#"), "the fragment is dropped from the address bar");
  await axe(p, "reset");
}

check(offHost.length === 0, `requests left 127.0.0.1: ${offHost.join(", ")}`);
check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(" | ")}`);
console.log(JSON.stringify({ failures, checked, offHost, consoleErrors }, null, 2));
process.exit(failures.length === 0 ? 0 : 1);

// Loads rareml HTML pages in Debian's Chromium (headless, through playwright-core) and checks
// them as a reader would use them: no console error, no request leaving the file, the event list
// as long as expected, an event's pictures drawn when it is selected, keyboard navigation, a
// filter. Saves one screenshot per page.
//
//   node tests/browser/check.mjs [--shots DIR] PAGE.html[:EVENTS[:PLOTS]] ...
//
// EVENTS and PLOTS are the expected numbers of listed events and of plots; absent, they are not
// checked. Exits 1 with a message on any failure.
import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
let shots = null;
const pages = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--shots") { shots = resolve(args[++i]); } else { pages.push(args[i]); }
}
if (pages.length === 0) { console.error("usage: check.mjs [--shots DIR] PAGE.html[:N] ..."); process.exit(2); }
if (shots) { mkdirSync(shots, { recursive: true }); }

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const userData = mkdtempSync(join(tmpdir(), "rareml-chromium-"));
const context = await chromium.launchPersistentContext(userData, {
  executablePath,
  headless: true,
  viewport: { width: 1500, height: 1000 },
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const failures = [];
function fail(page, msg) { failures.push(`${page}: ${msg}`); }

try {
  for (const spec of pages) {
    const m = spec.match(/^(.*?)(?::(\d+))?(?::(\d+))?$/);
    const file = resolve(m[1]);
    const expected = m[2] ? Number(m[2]) : null;
    const expectedPlots = m[3] ? Number(m[3]) : null;
    const url = pathToFileURL(file).href;
    const page = await context.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (msg) => { if (msg.type() === "error") { errors.push(msg.text()); } });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => { if (r.url() !== url && !r.url().startsWith("data:")) { requests.push(r.url()); } });
    const t0 = Date.now();
    await page.goto(url, { waitUntil: "load" });
    const loadMs = Date.now() - t0;
    const listed = await page.evaluate(() => document.querySelectorAll("#events tbody tr").length);
    if (listed === 0) { fail(file, "the event list is empty"); }
    if (expected !== null && listed !== expected) { fail(file, `${listed} events listed, expected ${expected}`); }
    const plots = await page.evaluate(() => Array.from(document.images).filter((i) => i.complete && i.naturalWidth > 0).length);
    if (expectedPlots !== null && plots !== expectedPlots) { fail(file, `${plots} plots rendered, expected ${expectedPlots}`); }
    // Select the first event (the most confidently wrong): its panels are drawn and not blank.
    const t1 = Date.now();
    await page.click("#events tbody tr:first-child");
    const selectMs = Date.now() - t1;
    const drawn = await page.evaluate(() => {
      const cs = Array.from(document.querySelectorAll("#view .panel canvas"));
      const nonBlank = cs.filter((c) => {
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        for (let i = 4; i < d.length; i += 4) {
          if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) { return true; }
        }
        return false;
      });
      return { panels: cs.length, nonBlank: nonBlank.length };
    });
    if (drawn.panels === 0) { fail(file, "selecting an event shows no picture"); }
    if (drawn.nonBlank === 0) { fail(file, `${drawn.panels} panels drawn, all blank`); }
    // Keyboard: j selects the next listed event.
    const first = await page.getAttribute("#events tbody tr.selected", "data-row");
    await page.keyboard.press("j");
    const second = await page.getAttribute("#events tbody tr.selected", "data-row");
    if (listed > 1 && (second === null || second === first)) { fail(file, "key j did not select the next event"); }
    await page.keyboard.press("k");
    const back = await page.getAttribute("#events tbody tr.selected", "data-row");
    if (back !== first) { fail(file, "key k did not go back to the first event"); }
    // A category filter keeps only its rows.
    const filter = await page.$("#filters select");
    if (filter) {
      const col = await filter.getAttribute("data-column");
      const value = await filter.evaluate((s) => (s.options.length > 1 ? s.options[1].value : ""));
      await filter.selectOption(value);
      const ok = await page.evaluate(([col, value]) => {
        const heads = Array.from(document.querySelectorAll("#events thead th")).map((t) => t.textContent.replace(/ [▲▼]$/, ""));
        const k = heads.indexOf(col);
        const rows = Array.from(document.querySelectorAll("#events tbody tr"));
        return rows.length > 0 && rows.every((r) => r.children[k].textContent === value);
      }, [col, value]);
      if (!ok) { fail(file, `the filter ${col} = ${value} lists other rows`); }
      await filter.selectOption("");
      await page.click("#events tbody tr:first-child");
    }
    if (shots) {
      const name = basename(dirname(file)) + "-" + basename(file, ".html") + ".png";
      await page.screenshot({ path: join(shots, name), fullPage: true });
    }
    if (errors.length) { fail(file, "console errors: " + errors.join(" | ")); }
    if (requests.length) { fail(file, "requests leaving the file: " + requests.join(", ")); }
    console.log(`${file}: ${listed} events listed, ${plots} plots, ${drawn.panels} panels (${drawn.nonBlank} not blank); ` +
      `loaded in ${loadMs} ms, first selection drawn in ${selectMs} ms`);
    await page.close();
  }
} finally {
  await context.close();
  rmSync(userData, { recursive: true, force: true });
}
if (failures.length) {
  for (const f of failures) { console.error("FAIL " + f); }
  process.exit(1);
}

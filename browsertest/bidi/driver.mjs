// The Firefox side of browsertest/bidi.go: puppeteer-core drives Debian's
// firefox-esr over WebDriver BiDi, and a Go test drives this script over
// line-delimited JSON on stdin and stdout:
//
//   in:  {"id": 1, "op": "goto", "page": 1, "url": "http://127.0.0.1:1234/"}
//   out: {"id": 1, "value": null}   or   {"id": 1, "error": "what went wrong"}
//
// Replies carry their request's id, so requests may overlap. Puppeteer
// never downloads a browser here: puppeteer-core has no download step, and
// the binary is the system's (executablePath). When stdin closes (the test
// ended or died), Firefox is closed and the script exits.
//
// Usage: node driver.mjs <node_modules folder that holds puppeteer-core>
// Firefox's own output (with the pages' console) goes to stderr.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// stdout carries the replies and nothing else.
console.log = console.error;

const modules = process.argv[2];
if (!modules) {
  process.stderr.write('usage: node driver.mjs <node_modules folder>\n');
  process.exit(2);
}
const puppeteer = createRequire(join(modules, 'driver.cjs'))('puppeteer-core');

let browser = null;
const pages = new Map(); // page number -> { page, context, routes, errors }
let nextPage = 1;

// An ARIA selector for one element by role and accessible name, the way
// assistive technology finds it (Firefox's own accessibility tree).
function aria(role, name) {
  const quote = (s) => JSON.stringify(String(s));
  return `::-p-aria([name=${quote(name)}][role=${quote(role)}])`;
}

function pageOf(msg) {
  const p = pages.get(msg.page);
  if (!p) throw new Error(`no page ${msg.page}`);
  return p;
}

async function find(p, msg) {
  const el = await p.page.waitForSelector(aria(msg.role, msg.name), { visible: true, timeout: msg.timeoutMs });
  if (!el) throw new Error(`no visible ${msg.role} named ${JSON.stringify(msg.name)}`);
  return el;
}

// The mouse over the middle of an element.
async function hover(p, el) {
  await el.scrollIntoView();
  const box = await el.boundingBox();
  if (!box) throw new Error('the element has no box');
  await p.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
}

// route makes the page get, for one path, the server's own response with
// JavaScript put in front of it. Everything else goes to the server as is.
// A request that a service worker answers never reaches the network, so no
// route can change it (Firefox says "no such request"): the error is kept
// with the page's errors and the request is not counted as routed.
async function route(p, msg) {
  p.routes.set(msg.path, { prepend: msg.prepend, hits: 0 });
  if (p.intercepting) return;
  p.intercepting = true;
  await p.page.setRequestInterception(true);
  p.page.on('request', async (req) => {
    const r = p.routes.get(new URL(req.url()).pathname);
    if (!r || req.method() !== 'GET') {
      await req.continue().catch(() => {});
      return;
    }
    try {
      const res = await fetch(req.url()); // from here, not the page: it is not intercepted
      const headers = {};
      for (const [k, v] of res.headers) {
        // fetch has decoded the body: its length and encoding no longer apply.
        if (k !== 'content-length' && k !== 'content-encoding') headers[k] = v;
      }
      const body = r.prepend + '\n' + (await res.text());
      await req.respond({ status: res.status, headers, body });
      r.hits++;
    } catch (err) {
      p.errors.push(`serving ${new URL(req.url()).pathname} with its prefix failed: ${err.message}`);
      await req.abort().catch(() => {});
    }
  });
}

const ops = {
  async launch(msg) {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: msg.executablePath,
      userDataDir: msg.profile,
      headless: true,
      extraPrefsFirefox: msg.prefs,
      env: msg.env,
      // Not dumpio: it would put Firefox's output on stdout, among the
      // replies. Firefox's output goes to stderr below instead.
      dumpio: false,
      protocolTimeout: msg.timeoutMs,
      timeout: msg.timeoutMs,
    });
    const proc = browser.process();
    proc?.stdout?.pipe(process.stderr);
    proc?.stderr?.pipe(process.stderr);
    return { pid: proc?.pid ?? 0, version: await browser.version() };
  },
  async newPage() {
    // A fresh browser context per page: separate storage and service
    // workers, the way two phones would be.
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const p = { page, context, routes: new Map(), errors: [], intercepting: false };
    page.on('pageerror', (err) => p.errors.push(`uncaught: ${err?.message ?? err}`));
    page.on('console', (m) => {
      if (m.type() === 'error') p.errors.push(`console: ${m.text()}`);
    });
    const n = nextPage++;
    pages.set(n, p);
    return n;
  },
  async route(msg) {
    await route(pageOf(msg), msg);
    return null;
  },
  async routeHits(msg) {
    return pageOf(msg).routes.get(msg.path)?.hits ?? 0;
  },
  async goto(msg) {
    try {
      await pageOf(msg).page.goto(msg.url, { timeout: msg.timeoutMs });
    } catch (err) {
      // An invite link's fragment is the room's secret: never in a message.
      const hash = new URL(msg.url).hash;
      const text = String(err?.message ?? err);
      throw new Error(hash.length > 1 ? text.replaceAll(hash, '#(fragment)') : text);
    }
    return null;
  },
  async eval(msg) {
    // A string is evaluated as an expression; a promise is awaited.
    const v = await pageOf(msg).page.evaluate(msg.expr);
    return v === undefined ? null : v;
  },
  async click(msg) {
    const p = pageOf(msg);
    await (await find(p, msg)).click();
    return null;
  },
  async press(msg) {
    const p = pageOf(msg);
    await hover(p, await find(p, msg));
    await p.page.mouse.down();
    return null;
  },
  async release(msg) {
    const p = pageOf(msg);
    await hover(p, await find(p, msg));
    await p.page.mouse.up();
    return null;
  },
  async type(msg) {
    const p = pageOf(msg);
    const el = await find(p, msg);
    await el.click();
    await el.evaluate((e) => e.select?.()); // typing replaces what was there
    await el.type(msg.text);
    return null;
  },
  async value(msg) {
    const p = pageOf(msg);
    return await (await find(p, msg)).evaluate((e) => e.value ?? e.textContent);
  },
  async errors(msg) {
    return pageOf(msg).errors;
  },
  async closePage(msg) {
    const p = pageOf(msg);
    pages.delete(msg.page);
    await p.context.close();
    return null;
  },
  async close() {
    await browser?.close();
    browser = null;
    return null;
  },
};

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const lines = createInterface({ input: process.stdin });
lines.on('line', async (line) => {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    reply({ id: 0, error: 'not JSON' });
    return;
  }
  const op = ops[msg.op];
  if (!op) {
    reply({ id: msg.id, error: `unknown op ${JSON.stringify(msg.op)}` });
    return;
  }
  try {
    reply({ id: msg.id, value: await op(msg) });
  } catch (err) {
    reply({ id: msg.id, error: String(err?.message ?? err) });
  }
});
lines.on('close', async () => {
  await browser?.close().catch(() => {});
  process.exit(0);
});

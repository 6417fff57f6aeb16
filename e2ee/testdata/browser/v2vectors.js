// Runs every v2 vector (docs/keys.md) in the browser with the checks Node
// runs (e2ee/jstest/v2check.mjs). The Go tests serve static/ at /static/,
// e2ee/jstest/ at /e2ee/jstest/ and e2ee/testdata/ at /e2ee/testdata/, so
// v2check.mjs's relative imports reach static/js/e2ee. Chromium reads
// window.v2Result; Firefox gets it POSTed to /result (page URL ?post).

import { checkAll } from '/e2ee/jstest/v2check.mjs';

async function run() {
  const res = await fetch('/e2ee/testdata/vectors.json');
  if (!res.ok) throw new Error(`vectors.json: HTTP ${res.status}`);
  const r = await checkAll(await res.json());
  return { userAgent: navigator.userAgent, ...r };
}

run().then(
  (r) => r,
  (err) => ({ error: `${err?.name}: ${err?.message}` }),
).then((r) => {
  window.v2Result = r;
  if (location.search.includes('post')) fetch('/result', { method: 'POST', body: JSON.stringify(r) });
});

// The offline page (served by sw.js when a page load finds no network).
// If it was opened from an invite link, the secret is moved out of the
// address bar into this tab's sessionStorage, where the app finds it on the
// reload that happens once the network is back.

import { takeFragment } from './secret.js';

takeFragment();

const retry = () => location.reload();
addEventListener('online', retry);
document.getElementById('retry').addEventListener('click', retry);

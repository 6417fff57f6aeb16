// The theme toggle: automatic (follow the system) -> dark -> light -> automatic,
// remembered in localStorage. theme-boot.js applied the saved choice before
// the first paint; this keeps the button and the browser's theme colour in step.

import { loadTheme, saveTheme } from '../prefs.js';
import { $ } from './dom.js';

const NEXT = { auto: 'dark', dark: 'light', light: 'auto' };
const LABEL = { auto: 'automatic', dark: 'dark', light: 'light' };
const BAR = { light: '#f6f4ef', dark: '#15171c' };

function apply(theme) {
  const root = document.documentElement;
  if (theme === 'auto') delete root.dataset.theme;
  else root.dataset.theme = theme;
  $('theme').setAttribute('aria-label', `Theme: ${LABEL[theme]}`);
  // Two <meta name="theme-color"> follow the system; a forced theme sets both.
  for (const m of document.querySelectorAll('meta[name="theme-color"]')) {
    const scheme = m.media.includes('dark') ? 'dark' : 'light';
    m.content = BAR[theme === 'auto' ? scheme : theme];
  }
}

export function initTheme() {
  let theme = loadTheme();
  apply(theme);
  $('theme').addEventListener('click', () => {
    theme = NEXT[theme];
    saveTheme(theme);
    apply(theme);
  });
}

// Runs before the first paint (a classic, blocking script in <head>) so a
// remembered theme never flashes the other one. ui/theme.js owns the toggle.
// Only 'light' and 'dark' are honoured; anything else means "follow the system".
(function () {
  try {
    var t = localStorage.getItem('sotto.theme');
    if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  } catch (e) {
    // Storage can be blocked (private modes, policies): follow the system.
  }
})();

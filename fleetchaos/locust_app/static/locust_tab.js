// fleetchaos: added to Locust's own page. Locust renders the Chaos tab's cells as plain
// text, so the "controls" row (open /chaos/ ...) gets a real link beside React's text node
// (hidden by the cell's font size, never moved or removed: React keeps owning it). Rows
// move as the table grows, so every change of the page re-checks which cell holds it.
(() => {
  const TEXT = 'open /chaos/';
  const style = document.createElement('style');
  style.textContent = 'td.fleetchaos-link{font-size:0}' +
    'td.fleetchaos-link>a{font-size:.875rem;color:inherit;text-decoration:underline}';
  document.head.appendChild(style);
  const holds = td => td.firstChild && td.firstChild.nodeType === Node.TEXT_NODE &&
    td.firstChild.nodeValue.startsWith(TEXT);
  function sync() {
    for (const a of document.querySelectorAll('a[data-fleetchaos]')) {
      const td = a.parentElement;
      if (!td || !holds(td) || a.textContent !== td.firstChild.nodeValue) {
        if (td) td.classList.remove('fleetchaos-link');
        a.remove();
      }
    }
    for (const td of document.querySelectorAll('td')) {
      if (holds(td) && !td.querySelector('a[data-fleetchaos]')) {
        const a = document.createElement('a');
        a.href = './chaos/';
        a.dataset.fleetchaos = 'chaos-page';
        a.textContent = td.firstChild.nodeValue;
        td.appendChild(a);
        td.classList.add('fleetchaos-link');
      }
    }
  }
  new MutationObserver(sync).observe(document.body, {childList: true, subtree: true,
                                                     characterData: true});
  sync();
})();

// The script embedded in the flame graph SVG: zoom on click, search, tooltips. Plain browser JavaScript
// over the frames' data attributes (name, start and width in counts, depth), which the renderer writes.
export const FLAME_SCRIPT = String.raw`
(function () {
  var svg = document.documentElement;
  var total = +svg.getAttribute('data-total'), unit = svg.getAttribute('data-unit');
  var pad = +svg.getAttribute('data-pad'), font = +svg.getAttribute('data-font'), charw = +svg.getAttribute('data-charw');
  var width = +svg.getAttribute('width'), chartW = width - 2 * pad;
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var info = frames.map(function (g) {
    return { g: g, n: g.getAttribute('data-n'), x: +g.getAttribute('data-x'), w: +g.getAttribute('data-w'), d: +g.getAttribute('data-d'),
      rect: g.querySelector('rect'), text: g.querySelector('text'), orig: g.querySelector('rect').getAttribute('fill') };
  });
  var byG = new Map();
  info.forEach(function (f) { byG.set(f.g, f); });
  var details = document.getElementById('details'), matched = document.getElementById('matched');
  var reset = document.getElementById('reset'), searchBtn = document.getElementById('search');
  var tip = document.getElementById('tip'), tipText = tip.querySelector('text'), tipRect = tip.querySelector('rect');
  var zoomed = null, term = null;

  function fmt(n) { return n.toLocaleString('en-US'); }
  function share(n) { return total > 0 ? (100 * n / total).toFixed(2) : '0.00'; }
  function describe(f) { return f.n + ' (' + fmt(f.w) + ' ' + unit + ', ' + share(f.w) + '%' + (zoomed && zoomed !== f && zoomed.w > 0 && f.d >= zoomed.d ? ', ' + (100 * f.w / zoomed.w).toFixed(2) + '% of the zoomed frame' : '') + ')'; }
  function fit(f, w) {
    var chars = Math.floor((w - 6) / (font * charw));
    f.text.textContent = chars < 3 ? '' : f.n.length <= chars ? f.n : f.n.slice(0, chars - 2) + '..';
  }
  function place(f, x, w) {
    f.rect.setAttribute('x', x.toFixed(2));
    f.rect.setAttribute('width', w.toFixed(2));
    f.text.setAttribute('x', (x + 3).toFixed(2));
    fit(f, w);
  }

  function zoom(target) {
    zoomed = target;
    var x0 = target.x, w0 = target.w, eps = w0 * 1e-9;
    info.forEach(function (f) {
      f.g.classList.remove('parent');
      f.g.classList.remove('hide');
      if (f.d < target.d) {
        if (f.x <= x0 + eps && f.x + f.w >= x0 + w0 - eps) { f.g.classList.add('parent'); place(f, pad, chartW); }
        else f.g.classList.add('hide');
      } else if (f.x >= x0 - eps && f.x + f.w <= x0 + w0 + eps) {
        place(f, pad + (f.x - x0) / w0 * chartW, f.w / w0 * chartW);
      } else {
        f.g.classList.add('hide');
      }
    });
    reset.setAttribute('visibility', target.d === 0 ? 'hidden' : 'visible');
    if (term !== null) search(term);
  }
  function unzoom() { if (info.length) zoom(info[0]); zoomed = null; reset.setAttribute('visibility', 'hidden'); if (term !== null) search(term); }

  // Search: frames whose name contains the term (case-insensitive) turn magenta; the share counts each
  // matched stretch once, also when matches nest.
  function search(t) {
    term = t;
    var needle = t.toLowerCase(), spans = [];
    info.forEach(function (f) {
      var hit = needle !== '' && f.n.toLowerCase().indexOf(needle) >= 0;
      f.rect.setAttribute('fill', hit ? 'rgb(230,0,230)' : f.orig);
      if (hit) spans.push([f.x, f.x + f.w]);
    });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var sum = 0, end = -1;
    spans.forEach(function (s) { if (s[0] >= end) { sum += s[1] - s[0]; end = s[1]; } else if (s[1] > end) { sum += s[1] - end; end = s[1]; } });
    matched.textContent = needle === '' ? '' : 'Matched: ' + fmt(sum) + ' ' + unit + ' (' + share(sum) + '%)';
    searchBtn.textContent = needle === '' ? 'Search' : 'Reset search';
    svg.setAttribute('data-matched', String(sum));
  }
  function clearSearch() { term = null; search(''); term = null; }

  function showTip(f, evt) {
    var text = describe(f);
    tipText.textContent = text;
    var w = tipText.getComputedTextLength ? tipText.getComputedTextLength() + 12 : text.length * font * charw + 12;
    var p = svg.createSVGPoint ? (function () { var q = svg.createSVGPoint(); q.x = evt.clientX; q.y = evt.clientY; return q.matrixTransform(svg.getScreenCTM().inverse()); })() : { x: evt.clientX, y: evt.clientY };
    var x = Math.min(Math.max(0, p.x + 12), width - w), y = Math.max(0, p.y - 28);
    tipRect.setAttribute('width', w.toFixed(1));
    tipText.setAttribute('x', '6');
    tip.setAttribute('transform', 'translate(' + x.toFixed(1) + ',' + y.toFixed(1) + ')');
    tip.setAttribute('visibility', 'visible');
    details.textContent = text;
  }
  function frameOf(el) { while (el && el !== svg) { if (byG.has(el)) return byG.get(el); el = el.parentNode; } return null; }

  svg.addEventListener('click', function (e) {
    var f = frameOf(e.target);
    if (f) { if (f.d === 0) unzoom(); else zoom(f); return; }
    if (e.target === reset) unzoom();
    else if (e.target === searchBtn) {
      if (term !== null && term !== '') clearSearch();
      else { var t = window.prompt('Search for a frame (part of its name):', ''); if (t) search(t); }
    }
  });
  svg.addEventListener('mousemove', function (e) { var f = frameOf(e.target); if (f) showTip(f, e); });
  svg.addEventListener('mouseout', function (e) { if (frameOf(e.target)) { tip.setAttribute('visibility', 'hidden'); details.textContent = ''; } });
  window.addEventListener('keydown', function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === 'f') { e.preventDefault(); var t = window.prompt('Search for a frame (part of its name):', term || ''); if (t !== null) search(t); }
    else if (e.key === 'Escape') { clearSearch(); unzoom(); }
  });
  // For scripts driving the page (and tests): the same actions as the clicks and keys.
  window.flamegraph = { zoom: function (name) { var f = info.filter(function (x) { return x.n === name; })[0]; if (f) zoom(f); return !!f; },
    unzoom: unzoom, search: search, clearSearch: clearSearch };
})();
`;

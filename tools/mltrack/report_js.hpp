// Why: the report's interactions, as one inline script (no library, nothing loaded): smoothing (the
// debiased exponential moving average TensorBoard uses), log-scale y, sorting and filtering the runs table,
// and highlighting one run in every chart. The line charts are redrawn from the JSON the page embeds
// (report_html.hpp) with the same layout and tick rules as report_svg.hpp. The state can be given in the
// URL's fragment (#highlight=exp/run&smooth=0.6&logy=1&filter=adam&sort=metric.val/acc&desc=1) and is
// written back there, so a view can be shared. The script sits in a CDATA section, so the page stays
// well-formed XML; it must never hold the CDATA end marker.
#pragma once

namespace mltrack_cli {
namespace report_detail {

inline const char* const script = R"js(<script>//<![CDATA[
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var state = {smooth: 0, logy: false, pinned: -1, hover: -1, filter: '', sort: '', desc: false};
  var W = 560, H = 300, L = 64, R = 16, T = 16, B = 44;
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function fx(v) { return v.toFixed(1); }

  // Axes: nice linear ticks (1, 2, 5 times a power of ten) counted, never stepped to a bound; decades on log.
  function linAxis(lo, hi) {
    if (!(isFinite(lo) && isFinite(hi))) { lo = 0; hi = 1; }
    var mag = Math.max(Math.abs(lo), Math.abs(hi));
    if (!(hi - lo > mag * 1e-12)) { var pad = mag === 0 ? 1 : mag * 0.1; lo = (lo + hi) / 2 - pad; hi = lo + 2 * pad; }
    var span = hi - lo;
    if (!isFinite(span)) return {lo: lo, hi: hi, log: false, ticks: [lo, 0, hi]};
    var step = Math.pow(10, Math.floor(Math.log10(span / 5))), err = 5 / span * step;
    if (err <= 0.15) step *= 10; else if (err <= 0.35) step *= 5; else if (err <= 0.75) step *= 2;
    var a = {lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, log: false, ticks: []};
    if (!(isFinite(a.lo) && isFinite(a.hi) && a.hi > a.lo)) { a.lo = lo; a.hi = hi; }
    var n = Math.min(60, Math.round((a.hi - a.lo) / step));
    for (var k = 0; k <= n; k++) a.ticks.push(a.lo + k * step);
    return a;
  }
  function logAxis(lo, hi) {
    var l0 = Math.max(-307, Math.floor(Math.log10(lo))), l1 = Math.min(308, Math.ceil(Math.log10(hi)));
    if (l1 <= l0) l1 = l0 + 1;
    var a = {lo: Math.pow(10, l0), hi: Math.pow(10, l1), log: true, ticks: []};
    var every = Math.max(1, Math.ceil((l1 - l0) / 15));
    for (var k = 0; k <= l1 - l0; k += every) a.ticks.push(Math.pow(10, l0 + k));
    return a;
  }
  function unit(a, v) {
    if (a.log) return (Math.log10(v) - Math.log10(a.lo)) / (Math.log10(a.hi) - Math.log10(a.lo));
    return (v - a.lo) / (a.hi - a.lo);
  }
  function labels(ticks) {
    var out = [];
    for (var d = 4; d <= 15; d++) {
      out = ticks.map(function (t) { return Math.abs(t) < 1e-12 ? '0' : String(Number(t.toPrecision(d))); });
      var distinct = out.every(function (s, i) { return i === 0 || s !== out[i - 1]; });
      if (distinct) break;
    }
    return out;
  }

  // TensorBoard's smoothing: an exponential moving average, divided by 1 - w^n so that it starts unbiased.
  // Non-finite values stay gaps and do not enter the average.
  function smoothed(ys, w) {
    if (!(w > 0)) return ys;
    var last = 0, n = 0;
    return ys.map(function (y) {
      if (y === null || !isFinite(y)) return null;
      last = last * w + (1 - w) * y;
      n++;
      return last / (1 - Math.pow(w, n));
    });
  }

  function path(xs, ys, ax, ay, ok) {
    var d = '', pen = false, dots = [], len = 0, first = -1;
    function end() { if (len === 1) dots.push(first); len = 0; }
    for (var i = 0; i < xs.length; i++) {
      if (!ok(ys[i])) { pen = false; end(); continue; }
      var p = fx(L + unit(ax, xs[i]) * (W - L - R)) + ' ' + fx(H - B - unit(ay, ys[i]) * (H - T - B));
      d += pen ? ' L' + p : (d ? ' M' : 'M') + p;
      if (!pen) first = i;
      pen = true;
      len++;
    }
    end();
    return {d: d, dots: dots};
  }

  function drawChart(fig) {
    var c = data.charts[+fig.getAttribute('data-chart')], w = state.smooth;
    var ok = function (v) { return v !== null && isFinite(v); };
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, positive = false, dropped = 0;
    var lines = c.lines.map(function (l) {
      var s = smoothed(l.y, w);
      l.x.forEach(function (x) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); });
      l.y.forEach(function (y) { if (ok(y) && y > 0) positive = true; if (ok(y) && y <= 0) dropped++; });
      return {run: l.run, x: l.x, raw: l.y, y: s};
    });
    var logy = state.logy && positive;
    var fine = logy ? function (v) { return ok(v) && v > 0; } : ok;
    lines.forEach(function (l) {
      (w > 0 ? [l.raw, l.y] : [l.y]).forEach(function (ys) {
        ys.forEach(function (y) { if (fine(y)) { y0 = Math.min(y0, y); y1 = Math.max(y1, y); } });
      });
    });
    if (!(x0 <= x1)) { x0 = 0; x1 = 1; }
    if (!(y0 <= y1)) { y0 = logy ? 1 : 0; y1 = logy ? 10 : 1; }
    var ax = linAxis(x0, x1), ay = logy ? logAxis(y0, y1) : linAxis(y0, y1);
    var s = '<title>' + esc(c.key) + ' by step</title><g class="axes">';
    var yl = labels(ay.ticks), xl = labels(ax.ticks);
    ay.ticks.forEach(function (t, i) {
      var y = fx(H - B - unit(ay, t) * (H - T - B));
      s += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + y + '" y2="' + y + '"/>' +
           '<text class="tick" x="' + (L - 6) + '" y="' + y + '" dy="0.32em" text-anchor="end">' + esc(yl[i]) + '</text>';
    });
    ax.ticks.forEach(function (t, i) {
      var x = fx(L + unit(ax, t) * (W - L - R));
      s += '<line class="grid" x1="' + x + '" x2="' + x + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
           '<text class="tick" x="' + x + '" y="' + (H - B + 16) + '" text-anchor="middle">' + esc(xl[i]) + '</text>';
    });
    s += '<rect class="plot" x="' + L + '" y="' + T + '" width="' + (W - L - R) + '" height="' + (H - T - B) + '"/>' +
         '<text class="label" x="' + (L + (W - L - R) / 2) + '" y="' + (H - 6) + '" text-anchor="middle">step</text>' +
         '<text class="label" transform="translate(14,' + (T + (H - T - B) / 2) + ') rotate(-90)" text-anchor="middle">' +
         esc(c.key + (logy ? ' (log)' : '')) + '</text></g>';
    var marks = '';
    lines.forEach(function (l) {
      var run = data.runs[l.run], attr = ' data-run="' + l.run + '"', title = '<title>' + esc(run.label) + '</title>';
      if (w > 0) {
        var raw = path(l.x, l.raw, ax, ay, fine);
        if (raw.d) s += '<path class="series raw" stroke="' + run.color + '"' + attr + ' d="' + raw.d + '">' + title + '</path>';
      }
      var p = path(l.x, l.y, ax, ay, fine);
      if (p.d) s += '<path class="series" stroke="' + run.color + '"' + attr + ' d="' + p.d + '">' + title + '</path>';
      p.dots.forEach(function (i) {
        s += '<circle cx="' + fx(L + unit(ax, l.x[i]) * (W - L - R)) + '" cy="' + fx(H - B - unit(ay, l.y[i]) * (H - T - B)) +
             '" r="2.5" fill="' + run.color + '"' + attr + '>' + title + '</circle>';
      });
      if (l.run === c.best) {
        for (var i = l.y.length - 1; i >= 0; i--) {
          if (!fine(l.y[i])) continue;
          marks += '<circle class="best" cx="' + fx(L + unit(ax, l.x[i]) * (W - L - R)) + '" cy="' +
                   fx(H - B - unit(ay, l.y[i]) * (H - T - B)) + '" r="6" stroke="' + run.color + '"' + attr +
                   '><title>best: ' + esc(run.label) + '</title></circle>';
          break;
        }
      }
    });
    fig.querySelector('svg').innerHTML = s + marks;
    var note = '';
    if (state.logy && !positive) note = 'log scale: no positive value, drawn on a linear scale';
    else if (logy && dropped) note = 'log scale: ' + dropped + ' value' + (dropped === 1 ? '' : 's') + ' \u2264 0 not drawn';
    fig.querySelector('.note').textContent = note;
  }
  function drawAll() { all('figure.line').forEach(drawChart); }

  // Highlighting: the hovered run, else the pinned (clicked) one, in every chart, legend and the table.
  function highlight() {
    var r = state.hover >= 0 ? state.hover : state.pinned;
    document.body.classList.toggle('hl', r >= 0);
    all('.on').forEach(function (e) { e.classList.remove('on'); });
    if (r >= 0) {
      all('[data-run="' + r + '"]').forEach(function (e) {
        e.classList.add('on');
        if (e.tagName.toLowerCase() === 'path') e.parentNode.appendChild(e);  // on top of the others
      });
    }
    document.getElementById('hl-info').textContent = state.pinned >= 0 ? 'highlighted: ' + data.runs[state.pinned].label : '';
    document.getElementById('clear').hidden = state.pinned < 0;
  }

  function applyFilter() {
    var terms = state.filter.toLowerCase().split(/\s+/).filter(Boolean), shown = 0, off = {};
    data.runs.forEach(function (r, i) {
      var text = r.search.toLowerCase();
      off[i] = !terms.every(function (t) { return text.indexOf(t) >= 0; });
      if (!off[i]) shown++;
    });
    all('[data-run]').forEach(function (e) { e.classList.toggle('off', off[+e.getAttribute('data-run')]); });
    document.getElementById('shown').textContent = terms.length ? shown + ' of ' + data.runs.length + ' runs' : '';
  }

  // Sorting: numbers (data-v) as numbers, other cells as text; empty cells always last.
  function sortTable() {
    var table = document.querySelector('table.runs');
    if (!table || !state.sort) return;
    var ths = all('thead th', table), col = -1;
    ths.forEach(function (th, i) { th.classList.remove('asc', 'desc'); if (th.textContent === state.sort) col = i; });
    if (col < 0) return;
    ths[col].classList.add(state.desc ? 'desc' : 'asc');
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    function key(tr) {
      var td = tr.cells[col], v = td.getAttribute('data-v');
      if (v !== null) return {n: Number(v)};
      return td.textContent === '' ? null : {t: td.textContent};
    }
    rows.sort(function (a, b) {
      var ka = key(a), kb = key(b);
      if (!ka || !kb) return ka ? -1 : kb ? 1 : 0;
      var c = 'n' in ka && 'n' in kb ? (ka.n < kb.n ? -1 : ka.n > kb.n ? 1 : 0) : String(ka.t || ka.n).localeCompare(String(kb.t || kb.n));
      return state.desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function writeHash() {
    var parts = [];
    if (state.pinned >= 0) parts.push('highlight=' + encodeURIComponent(data.runs[state.pinned].label));
    if (state.smooth > 0) parts.push('smooth=' + state.smooth);
    if (state.logy) parts.push('logy=1');
    if (state.filter) parts.push('filter=' + encodeURIComponent(state.filter));
    if (state.sort) parts.push('sort=' + encodeURIComponent(state.sort) + (state.desc ? '&desc=1' : ''));
    try { history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search); } catch (e) {}
  }
  function findRun(v) {
    for (var i = 0; i < data.runs.length; i++) if (data.runs[i].label === v) return i;
    for (i = 0; i < data.runs.length; i++) if (data.runs[i].name === v) return i;
    return /^[0-9]+$/.test(v) && +v < data.runs.length ? +v : -1;
  }
  function readHash() {
    var table = document.querySelector('table.runs');
    if (table && table.getAttribute('data-sort')) {
      state.sort = table.getAttribute('data-sort');
      state.desc = table.getAttribute('data-desc') === '1';
    }
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var at = kv.indexOf('='), k = at < 0 ? kv : kv.slice(0, at), v = at < 0 ? '' : decodeURIComponent(kv.slice(at + 1));
      if (k === 'highlight') state.pinned = findRun(v);
      else if (k === 'smooth') state.smooth = Math.min(0.99, Math.max(0, Number(v) || 0));
      else if (k === 'logy') state.logy = v === '1' || v === 'true';
      else if (k === 'filter') state.filter = v;
      else if (k === 'sort') { state.sort = v; state.desc = false; }
      else if (k === 'desc') state.desc = v === '1';
    });
  }

  readHash();
  var controls = document.getElementById('controls'), filter = document.getElementById('filter');
  var smooth = document.getElementById('smooth'), logy = document.getElementById('logy');
  controls.hidden = false;
  filter.value = state.filter;
  smooth.value = state.smooth;
  document.getElementById('smooth-value').textContent = state.smooth;
  logy.checked = state.logy;
  filter.addEventListener('input', function () { state.filter = filter.value; applyFilter(); writeHash(); });
  smooth.addEventListener('input', function () {
    state.smooth = Number(smooth.value);
    document.getElementById('smooth-value').textContent = smooth.value;
    drawAll(); highlight(); writeHash();
  });
  logy.addEventListener('change', function () { state.logy = logy.checked; drawAll(); highlight(); writeHash(); });
  document.getElementById('clear').addEventListener('click', function () { state.pinned = -1; highlight(); writeHash(); });
  all('table.runs thead th').forEach(function (th) {
    th.addEventListener('click', function () {
      state.desc = state.sort === th.textContent ? !state.desc : false;
      state.sort = th.textContent;
      sortTable(); writeHash();
    });
  });
  function runOf(e) {
    var el = e.target.closest ? e.target.closest('[data-run]') : null;
    return el ? +el.getAttribute('data-run') : -1;
  }
  document.addEventListener('mouseover', function (e) { var r = runOf(e); if (r !== state.hover) { state.hover = r; highlight(); } });
  document.addEventListener('click', function (e) {
    var r = runOf(e);
    if (r < 0) return;
    state.pinned = state.pinned === r ? -1 : r;
    highlight(); writeHash();
  });
  if (state.smooth > 0 || state.logy) drawAll();
  sortTable();
  applyFilter();
  highlight();
})();
//]]></script>
)js";

}  // namespace report_detail
}  // namespace mltrack_cli

// The little JavaScript the inbox needs: the CSRF header on htmx requests, and live
// updates from the API's server-sent events (/api/stream) refreshing the list and the open
// conversation without a reload. Everything else is server-rendered HTML and htmx.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');

  document.addEventListener("htmx:configRequest", function (event) {
    if (csrf && csrf.content) event.detail.headers["X-CSRF-Token"] = csrf.content;
  });

  function listUrl() {
    var form = document.getElementById("filters");
    var params = form ? new URLSearchParams(new FormData(form)) : new URLSearchParams();
    return "/ui/conversations?" + params.toString();
  }

  function keepFocus(container, swap) {
    var focused = document.activeElement;
    var item = focused && focused.closest && focused.closest("[data-contact]");
    var contact = item && container && container.contains(item) ? item.dataset.contact : null;
    return swap().then(function () {
      if (!contact) return;
      var again = document.querySelector('#conversation-list [data-contact="' + contact + '"] a');
      if (again) again.focus();
    });
  }

  function refreshList() {
    var list = document.getElementById("conversation-list");
    if (!list || !window.htmx) return Promise.resolve();
    return keepFocus(list, function () {
      return htmx.ajax("GET", listUrl(), { target: "#conversation-list", swap: "outerHTML" });
    });
  }

  function scrollTimeline(force) {
    var timeline = document.querySelector(".timeline");
    if (!timeline) return;
    var nearEnd = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 120;
    if (force || nearEnd) timeline.scrollTop = timeline.scrollHeight;
  }

  function refreshDetail() {
    var detail = document.getElementById("live-detail");
    if (!detail || !window.htmx) return Promise.resolve();
    // A voice note being listened to is not cut off: the refresh waits for the next event.
    var playing = Array.prototype.some.call(detail.querySelectorAll("audio"), function (a) {
      return !a.paused;
    });
    if (playing || detail.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
      return Promise.resolve();
    }
    var pending = Array.prototype.slice.call(detail.querySelectorAll("[data-pending]"));
    var open = Array.prototype.map.call(detail.querySelectorAll("details[open]"), function (d) {
      var item = d.closest("[data-key]");
      return item ? item.dataset.key : null;
    });
    var timeline = detail.querySelector(".timeline");
    var atEnd = !timeline || timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 120;
    var url = "/ui/conversations/" + encodeURIComponent(detail.dataset.contact);
    return htmx.ajax("GET", url, { target: "#live-detail", swap: "outerHTML" }).then(function () {
      var items = document.getElementById("timeline-items");
      // A reply just sent stays visible until the read model has it.
      pending.forEach(function (li) {
        if (items && !items.querySelector('[data-key="' + li.dataset.key + '"]')) items.appendChild(li);
      });
      open.forEach(function (key) {
        var d = key && document.querySelector('[data-key="' + key + '"] details');
        if (d) d.open = true;
      });
      scrollTimeline(atEnd);
    });
  }

  // Events reach the stream as they are published; the read models fold them a moment later
  // (longer on a busy machine). So a burst of events refreshes soon, then a few times more
  // as the models catch up; the fragments are small and a refresh that changes nothing
  // changes nothing on screen.
  var AFTER_MS = [300, 1500, 4000, 10000];
  var timers = [], detailToo = false;
  function refresh() {
    var both = detailToo;
    return refreshList().then(function () { if (both) return refreshDetail(); });
  }
  function changed(event) {
    var contact = null;
    try { contact = JSON.parse(event.data).contact; } catch (e) { contact = null; }
    changedFor(contact);
  }
  function changedFor(contact) {
    var detail = document.getElementById("live-detail");
    if (detail && (!contact || contact === detail.dataset.contact)) detailToo = true;
    timers.forEach(clearTimeout);
    timers = AFTER_MS.map(function (ms, n) {
      return setTimeout(function () {
        refresh().then(function () { if (n === AFTER_MS.length - 1) detailToo = false; });
      }, ms);
    });
  }

  function liveState(text, ok) {
    var el = document.getElementById("live-state");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("ok", !!ok);
  }

  function listen() {
    if (!window.EventSource || !document.getElementById("live-state")) return;
    var body = document.body;
    var source = new EventSource("/api/stream");
    source.onopen = function () { liveState(body.dataset.live, true); };
    // What happened before the stream was (re)connected, this page has not heard of.
    source.addEventListener("ready", function () { changedFor(null); });
    source.onerror = function () { liveState(body.dataset.reconnecting, false); };
    // The stream names each event by its type (message.received, task.updated…).
    (body.dataset.streamTypes || "").split(" ").forEach(function (name) {
      if (name) source.addEventListener(name, changed);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    scrollTimeline(true);
    listen();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "composer") scrollTimeline(true);
  });
  // The page's own changes (read, reply, take-over, tasks) may reach the read models before
  // the stream is connected: they schedule the same refreshes as news from the stream.
  document.addEventListener("htmx:afterRequest", function (event) {
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    if (verb && verb !== "get" && event.detail.successful) changedFor(null);
  });
  document.addEventListener("htmx:oobAfterSwap", function () { scrollTimeline(true); });
  // The reply box is cleared by the server's answer; focus stays in it for the next reply.
  document.addEventListener("htmx:afterSettle", function (event) {
    var text = document.getElementById("reply-text");
    if (text && event.detail.elt && event.detail.elt.id === "composer") text.focus();
  });
})();

// The analytics page's charts (Chart.js, served by Hilo), from the figures the server
// rendered into #chart-data; the same figures are in the page as text and tables.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("chart-data");
    if (!source || !window.Chart) return;
    var data = JSON.parse(source.textContent);
    var label = JSON.parse(document.getElementById("chart-labels").textContent);
    var colors = { in: "#1f6feb", out: "#2da44e", positive: "#2da44e", neutral: "#6e7781",
                   negative: "#cf222e", urgent: "#bf8700" };
    Chart.defaults.animation = false;
    Chart.defaults.scales.linear.beginAtZero = true;
    var counts = { scales: { y: { ticks: { precision: 0 } } } };
    function chart(id, config) {
      var canvas = document.getElementById("chart-" + id);
      if (canvas) new Chart(canvas, config);
    }
    chart("messages", { type: "bar", data: { labels: data.messages.labels, datasets: [
      { label: label.in, data: data.messages.inbound, backgroundColor: colors.in },
      { label: label.out, data: data.messages.outbound, backgroundColor: colors.out }] }, options: counts });
    chart("responses", { type: "bar", data: {
      labels: [label.automatic, label.human], datasets: [
      { label: label.p50, data: data.responses.p50, backgroundColor: colors.in },
      { label: label.p90, data: data.responses.p90, backgroundColor: colors.urgent }] } });
    chart("sentiment", { type: "line", data: { labels: data.sentiment.labels,
      datasets: Object.keys(data.sentiment.series).map(function (name) {
        return { label: label[name] || name, data: data.sentiment.series[name],
                 borderColor: colors[name] || "#8250df", backgroundColor: colors[name] || "#8250df" };
      }) }, options: counts });
    chart("intents", { type: "bar", data: { labels: data.intents.labels, datasets: [
      { label: label.count, data: data.intents.counts, backgroundColor: "#8250df" }] },
      options: { indexAxis: "y", scales: { x: { ticks: { precision: 0 } } } } });
    chart("tasks", { type: "bar", data: { labels: [label.created, label.done], datasets: [
      { label: label.count, data: [data.tasks.created, data.tasks.done],
        backgroundColor: [colors.in, colors.out] }] }, options: counts });
  });
})();

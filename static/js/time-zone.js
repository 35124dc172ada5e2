// The reader's time zone. On a first visit the page was drawn in UTC: remember the browser's
// zone in a cookie (the server draws later pages in it) and rewrite this page's marked times now.
// A zone chosen with the form at /time-zone/ is already in the cookie and is left alone.
// Without JavaScript, times stay in UTC and the form still works.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone || /(^|;\s*)tz=/.test(document.cookie)) {
    return;
  }
  var secure = window.location.protocol === "https:" ? "; secure" : "";
  document.cookie =
    "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax" + secure;
  var format = new Intl.DateTimeFormat("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: zone,
    timeZoneName: "short",
  });
  document.querySelectorAll("time[data-local]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (!isNaN(moment.getTime())) {
      element.textContent = format.format(moment);
    }
  });
  document.querySelectorAll("[data-zone-name]").forEach(function (element) {
    element.textContent = zone;
  });
})();

// "Copy link" on a question page: copies the question's address (never the
// query string of the current page) and tells the server, which counts it as
// "Share Link Copied". Without JavaScript, or where the clipboard cannot be
// written (plain HTTP), the button stays hidden and the address bar does the job.
(function () {
  "use strict";
  var box = document.querySelector("[data-share-path]");
  if (!box || !navigator.clipboard || !window.fetch) {
    return;
  }
  var button = box.querySelector("button");
  var status = box.querySelector("[role=status]");
  var token = box.querySelector("input[name=csrfmiddlewaretoken]");
  box.hidden = false;

  button.addEventListener("click", function () {
    var url = new URL(box.dataset.sharePath, window.location.href).href;
    navigator.clipboard.writeText(url).then(
      function () {
        status.textContent = "Link copied.";
        // Counting is best effort: a failed beacon changes nothing for the visitor.
        fetch(box.dataset.beacon, {
          method: "POST",
          credentials: "same-origin",
          keepalive: true,
          headers: { "X-CSRFToken": token ? token.value : "" },
        }).catch(function () {});
      },
      function () {
        status.textContent = "Copying failed: copy the address from the address bar.";
      }
    );
  });
})();

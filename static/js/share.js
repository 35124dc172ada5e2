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
  box.hidden = false;

  // Django's CSRF check compares a header with the csrftoken cookie. The page carries no token
  // (it is the same for every visitor), so the script sends the cookie's value, making the
  // cookie first if this browser has none: a random secret of Django's alphabet and length.
  function csrfToken() {
    var found = document.cookie.match(/(?:^|;\s*)csrftoken=([A-Za-z0-9]{32})(?:;|$)/);
    if (found) {
      return found[1];
    }
    var letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    var bytes = new Uint8Array(32);
    window.crypto.getRandomValues(bytes);
    var secret = "";
    for (var i = 0; i < bytes.length; i++) {
      secret += letters.charAt(bytes[i] % letters.length);
    }
    document.cookie = "csrftoken=" + secret + "; path=/; SameSite=Lax" +
      (window.location.protocol === "https:" ? "; Secure" : "");
    return secret;
  }

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
          headers: { "X-CSRFToken": csrfToken() },
        }).catch(function () {});
      },
      function () {
        status.textContent = "Copying failed: copy the address from the address bar.";
      }
    );
  });
})();

// Sharing a question page, on top of the plain share links that work without
// JavaScript:
// - "Share…" opens the browser's own share sheet (the Web Share API), shown only
//   where the browser has one (phones, some desktops).
// - "Copy link" copies the question's address (never the query string of the
//   current page) and tells the server, which counts it as "Share Link Copied".
//   Where the clipboard cannot be written (plain HTTP) it stays hidden and the
//   address bar does the job.
(function () {
  "use strict";

  function address(path) {
    return new URL(path, window.location.href).href;
  }

  var copyBox = document.querySelector("[data-share-path]");
  var nativeBox = document.querySelector("[data-share-native]");

  if (nativeBox && copyBox && navigator.share) {
    var shared = {
      title: nativeBox.dataset.shareTitle,
      url: address(copyBox.dataset.sharePath),
    };
    if (!navigator.canShare || navigator.canShare(shared)) {
      nativeBox.hidden = false;
      nativeBox.querySelector("button").addEventListener("click", function () {
        // A cancelled sheet rejects the promise: nothing to tell anyone.
        navigator.share(shared).catch(function () {});
      });
    }
  }

  if (!copyBox || !navigator.clipboard || !window.fetch) {
    return;
  }
  var button = copyBox.querySelector("button");
  var status = copyBox.querySelector("[role=status]");
  copyBox.hidden = false;

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
    navigator.clipboard.writeText(address(copyBox.dataset.sharePath)).then(
      function () {
        status.textContent = "Link copied.";
        // Counting is best effort: a failed beacon changes nothing for the visitor.
        fetch(copyBox.dataset.beacon, {
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

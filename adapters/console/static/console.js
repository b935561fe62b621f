// eusaas console: progressive enhancement only. Every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Password reset, invitation, e-mail verification: the mail's link carries the token in the
  // URL fragment (#token=..&tenant=..), which never reaches a server; copy it into the form
  // and drop it from the address bar.
  var form = document.querySelector("form.fragment-form");
  if (form && location.hash.length > 1) {
    var params = new URLSearchParams(location.hash.slice(1));
    var tok = document.getElementById("frag-token");
    var ten = document.getElementById("frag-tenant");
    if (params.get("token") && tok) { tok.value = params.get("token"); }
    if (params.get("tenant") && ten) { ten.value = params.get("tenant"); }
    history.replaceState(null, "", location.pathname);
  }
  // Tenant deletion: the button stays disabled until the slug is typed out exactly (the
  // server checks it again).
  document.querySelectorAll("form.confirm-delete").forEach(function (f) {
    var input = f.querySelector("input[name=confirm]");
    var button = f.querySelector("button[type=submit]");
    if (!input || !button) { return; }
    var sync = function () { button.disabled = input.value.trim() !== f.dataset.slug; };
    input.addEventListener("input", sync);
    sync();
  });
});

// The console's one script. Pages work without it; it adds confirmations, a live
// template preview, and stops a form from being sent twice. No inline code anywhere: the
// Content-Security-Policy allows scripts from this file only.
"use strict";

(function () {
  const csrf = document.body.dataset.csrf || "";

  // Forms with data-confirm ask first; every form disables its button once sent.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const question = form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.method.toLowerCase() === "post") {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        button.disabled = true;
      }
    }
  });

  // Template editor: render the draft as the admin types.
  const editor = document.querySelector("form[data-preview]");
  if (editor) {
    let timer = null;
    let sent = 0;
    const show = function (id, text) {
      const el = document.getElementById(id);
      if (el) el.textContent = text || "";
    };
    const refresh = async function () {
      const mine = ++sent;
      const body = new URLSearchParams(new FormData(editor));
      try {
        const res = await fetch(editor.dataset.preview, {
          method: "POST",
          headers: { "X-CSRF-Token": csrf },
          body: body,
          credentials: "same-origin",
        });
        const answer = await res.json();
        if (mine !== sent) return; // an older answer arriving late
        const error = document.getElementById("preview-error");
        if (answer.ok) {
          error.hidden = true;
          show("preview-subject", answer.rendered.subject);
          show("preview-body", answer.rendered.body);
          show("preview-html", answer.rendered.html);
        } else {
          error.hidden = false;
          error.textContent = answer.error;
        }
      } catch (e) {
        // Offline or the server restarting: the last preview stays.
      }
    };
    editor.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }
})();

// Progressive enhancement only: every page works without this file.
// 1. Keystroke shortcuts: a link or button with data-key="n" is followed on "n" (never
//    while typing in a field, never with a modifier key).
// 2. Partial submit: a form with data-enhance is sent in the background and the page's
//    <main> replaced by the answer's, focus moved to its message; no full reload.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var target = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (target) {
      event.preventDefault();
      target.click();
    }
  });

  function focusMessage(main) {
    var message = main.querySelector("#error-summary, [role=status], [role=alert]") || main;
    if (!message.hasAttribute("tabindex")) {
      message.setAttribute("tabindex", "-1");
    }
    message.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-enhance") || !window.fetch) {
      return;
    }
    event.preventDefault();
    var token = form.querySelector('input[name="csrf_token"]');
    // The pressed button's name and value go too (a form's "save as draft" beside its
    // "submit"), as in a plain submit; older browsers ignore the submitter argument.
    var submitter = event.submitter;
    var data = new FormData(form, submitter);
    if (submitter && submitter.name && !data.has(submitter.name)) {
      data.append(submitter.name, submitter.value);
    }
    // getAttribute: a field named "action" (the plan form's buttons) hides form.action.
    var action = submitter && submitter.hasAttribute("formaction") ? submitter.formAction
      : form.getAttribute("action") || window.location.href;
    function plainSubmit() {
      // form.submit() sends no button: carry the pressed one's name and value along.
      if (submitter && submitter.name) {
        var pressed = document.createElement("input");
        pressed.type = "hidden";
        pressed.name = submitter.name;
        pressed.value = submitter.value;
        form.appendChild(pressed);
      }
      form.submit();
    }
    fetch(action, {
      method: "POST",
      body: new URLSearchParams(data),
      headers: token ? { "X-CSRF-Token": token.value } : {},
      credentials: "same-origin",
    }).then(function (answer) {
      return answer.text().then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("main");
        var main = document.querySelector("main");
        if (!fresh || !main) {
          plainSubmit();
          return;
        }
        main.replaceWith(fresh);
        document.title = page.title;
        if (answer.redirected) {
          history.pushState(null, "", answer.url);
        }
        focusMessage(fresh);
      });
    }).catch(function () {
      plainSubmit();  // the network failed: let the browser try the plain way
    });
  });
})();

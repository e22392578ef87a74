// The curator's page reloads itself when a topic it shows changes (new stories, an
// action taken elsewhere): it asks /topics/versions every data-refresh seconds and
// compares with the versions it was rendered at. No libraries; served from this site
// only (the page's Content-Security-Policy allows no other script).
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh")) || 15;
  var shown = {};
  document.querySelectorAll("section.topic[data-version]").forEach(function (section) {
    shown[section.getAttribute("data-slug")] = Number(section.getAttribute("data-version"));
  });

  function changed(versions) {
    return Object.keys(shown).some(function (slug) {
      return slug in versions && versions[slug] !== shown[slug];
    });
  }

  function check() {
    fetch("/topics/versions", { cache: "no-store", credentials: "same-origin" })
      .then(function (answer) { return answer.ok ? answer.json() : {}; })
      .then(function (versions) {
        var typing = document.activeElement && document.activeElement.form;
        if (changed(versions) && !typing) {
          location.reload();
        }
      })
      .catch(function () { /* the server is restarting: ask again later */ })
      .finally(function () { setTimeout(check, seconds * 1000); });
  }

  setTimeout(check, seconds * 1000);
})();

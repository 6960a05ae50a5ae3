/*
 * Response templates on a concern's admin page (templates/admin/triage_change_form.html).
 *
 * Without JavaScript, "Use template" reloads the page with the chosen template's text in the
 * form's message box. With it, the text goes into the box at once and the officer carries on
 * typing: nothing is sent until they press the form's own button. Text the officer has typed
 * is only replaced once they agree to it.
 */
(function () {
  "use strict";

  function templateTexts(select) {
    return Array.prototype.map.call(select.options, function (option) {
      return option.dataset.text || "";
    });
  }

  document.addEventListener("submit", function (event) {
    var picker = event.target;
    if (!(picker instanceof HTMLFormElement) || !picker.dataset.fills) {
      return;
    }
    var select = picker.querySelector("select");
    var box = document.getElementById(picker.dataset.fills);
    if (!select || !box) {
      return; // leave it to the reload
    }
    event.preventDefault();
    var option = select.options[select.selectedIndex];
    if (!option || !option.value) {
      select.focus();
      return;
    }
    var typed = box.value.trim() !== "" && templateTexts(select).indexOf(box.value) === -1;
    if (typed && !window.confirm("Replace what you have typed with the template “" + option.text + "”?")) {
      return;
    }
    box.value = option.dataset.text;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  });
})();

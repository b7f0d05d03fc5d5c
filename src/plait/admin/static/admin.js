// plait.admin: small enhancements; every page works without this script.
(function () {
  "use strict";
  document.querySelectorAll("input.select-all").forEach(function (all) {
    var boxes = all.form ? all.form.querySelectorAll('input[name="_selected"]') : [];
    var sync = function () {
      var ticked = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      all.checked = ticked > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    boxes.forEach(function (b) { b.addEventListener("change", sync); });
    sync();
  });
})();

// Foreign keys searched as you type. The page draws a select holding only the chosen row
// (as Django's autocomplete); here it becomes a combobox: typing asks the admin through htmx
// (hx-get, answered with <li role="option"> rows), the arrow keys move through the answers,
// Enter or a click picks one, Escape closes the list.
(function () {
  "use strict";
  if (!window.htmx) { return; }
  // The select names the page relative to the admin's index (<body data-admin-url>).
  var root = new URL(document.body.getAttribute("data-admin-url") || "", window.location.href);
  document.querySelectorAll("select[data-autocomplete]").forEach(function (select) {
    var url = new URL(select.getAttribute("data-autocomplete"), root).href;
    var current = select.selectedIndex >= 0 ? select.options[select.selectedIndex] : null;
    var keyInput = document.createElement("input");
    var wrap = document.createElement("div");
    var box = document.createElement("input");
    var list = document.createElement("ul");
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    var chosen = current && current.value ? current.textContent : "";
    var active = -1;

    keyInput.type = "hidden";
    keyInput.name = select.name;
    keyInput.value = select.value;
    wrap.className = "autocomplete";
    box.type = "text";
    box.id = select.id;  // the field's label points at the box
    box.value = chosen;
    // A form attribute naming no form: the search text is never sent with the form itself.
    box.setAttribute("form", select.id + "_none");
    box.name = "term";
    box.autocomplete = "off";
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", select.id + "_listbox");
    box.required = select.required;
    var copied = ["aria-describedby", "aria-invalid", "aria-label", "aria-labelledby"];
    copied.forEach(function (name) {
      if (select.hasAttribute(name)) { box.setAttribute(name, select.getAttribute(name)); }
    });
    box.setAttribute("hx-get", url);
    box.setAttribute("hx-trigger", "input changed delay:250ms, open");
    box.setAttribute("hx-target", "#" + select.id + "_listbox");
    box.setAttribute("hx-swap", "innerHTML");
    box.setAttribute("hx-sync", "this:replace");
    list.id = select.id + "_listbox";
    list.setAttribute("role", "listbox");
    if (label) {
      if (!label.id) { label.id = select.id + "_label"; }
      list.setAttribute("aria-labelledby", label.id);
    }
    list.hidden = true;
    wrap.appendChild(keyInput);
    wrap.appendChild(box);
    wrap.appendChild(list);
    select.replaceWith(wrap);

    var options = function () {
      return Array.prototype.filter.call(list.querySelectorAll('[role="option"]'), function (o) {
        return o.getAttribute("aria-disabled") !== "true";
      });
    };
    var mark = function (index) {  // the option to mark; -1: none
      var all = options();
      active = index < 0 || !all.length ? -1 : index % all.length;
      all.forEach(function (o, i) { o.setAttribute("aria-selected", String(i === active)); });
      if (active >= 0) {
        box.setAttribute("aria-activedescendant", all[active].id);
        all[active].scrollIntoView({ block: "nearest" });
      } else {
        box.removeAttribute("aria-activedescendant");
      }
    };
    var open = function (yes) {
      list.hidden = !yes;
      box.setAttribute("aria-expanded", String(yes));
      if (!yes) { mark(-1); }
    };
    var pick = function (option) {
      keyInput.value = option.getAttribute("data-value");
      chosen = box.value = option.textContent;
      open(false);
    };

    list.addEventListener("htmx:afterSwap", function () {
      options().forEach(function (o, i) { o.id = list.id + "_" + i; });
      active = -1;
      open(document.activeElement === box);
    });
    list.addEventListener("mousedown", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option && option.getAttribute("aria-disabled") !== "true") {
        event.preventDefault();  // keep the focus in the box
        pick(option);
      }
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) { htmx.trigger(box, "open"); return; }
        var last = options().length - 1;
        mark(event.key === "ArrowDown" ? active + 1 : active <= 0 ? last : active - 1);
      } else if (event.key === "Enter" && !list.hidden) {
        event.preventDefault();  // picking is not submitting
        if (active >= 0) { pick(options()[active]); }
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        open(false);
      }
    });
    box.addEventListener("blur", function () {
      open(false);
      if (box.value === "") {
        keyInput.value = "";
        chosen = "";
      } else {
        box.value = chosen;  // typed but not picked: the choice stays
      }
    });
    htmx.process(box);
  });
})();

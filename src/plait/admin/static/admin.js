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

// Foreign keys searched as you type. The page draws a text input holding the related row's
// key (usable as it is without scripts); here it becomes a combobox: typing asks the admin
// through htmx (hx-get, answered with <li role="option"> rows), the arrow keys move through
// the answers, Enter or a click picks one, Escape closes the list.
(function () {
  "use strict";
  if (!window.htmx) { return; }
  // The input names the page relative to the admin's index (<body data-admin-url>).
  var root = new URL(document.body.getAttribute("data-admin-url") || "", window.location.href);
  document.querySelectorAll("input[data-autocomplete]").forEach(function (keyInput) {
    var url = new URL(keyInput.getAttribute("data-autocomplete"), root).href;
    var wrap = document.createElement("div");
    var box = document.createElement("input");
    var list = document.createElement("ul");
    var label = keyInput.id ? document.querySelector('label[for="' + keyInput.id + '"]') : null;
    var chosen = "";
    var active = -1;

    wrap.className = "autocomplete";
    box.type = "text";
    box.id = keyInput.id + "_search";
    // A form attribute naming no form: the search text is never sent with the form itself.
    box.setAttribute("form", box.id + "_none");
    box.name = "term";
    box.autocomplete = "off";
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", keyInput.id + "_listbox");
    box.required = keyInput.required;
    ["aria-describedby", "aria-invalid"].forEach(function (name) {
      if (keyInput.hasAttribute(name)) { box.setAttribute(name, keyInput.getAttribute(name)); }
    });
    box.setAttribute("hx-get", url);
    box.setAttribute("hx-trigger", "input changed delay:250ms, open");
    box.setAttribute("hx-target", "#" + keyInput.id + "_listbox");
    box.setAttribute("hx-swap", "innerHTML");
    box.setAttribute("hx-sync", "this:replace");
    list.id = keyInput.id + "_listbox";
    list.setAttribute("role", "listbox");
    if (label) {
      label.htmlFor = box.id;
      if (!label.id) { label.id = keyInput.id + "_label"; }
      list.setAttribute("aria-labelledby", label.id);
    }
    list.hidden = true;
    keyInput.type = "hidden";
    keyInput.parentNode.insertBefore(wrap, keyInput);
    wrap.appendChild(keyInput);
    wrap.appendChild(box);
    wrap.appendChild(list);

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
    if (keyInput.value) {  // the current row's name
      fetch(url + "&key=" + encodeURIComponent(keyInput.value), { credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) {
          var found = new DOMParser().parseFromString("<ul>" + html + "</ul>", "text/html")
            .querySelector('[role="option"][data-value]');
          if (found && box.value === "") { chosen = box.value = found.textContent; }
        });
    }
    htmx.process(box);
  });
})();

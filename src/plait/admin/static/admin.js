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

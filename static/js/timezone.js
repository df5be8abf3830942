// Time-zone pickers: offer the zone this device reports, first. Without JavaScript the
// picker still lists every zone with the clinic's first; this only adds a suggestion.
(function () {
  "use strict";
  var detected;
  try {
    detected = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!detected) return;
  document.querySelectorAll("select[data-timezone-picker]").forEach(function (select) {
    var existing = Array.prototype.find.call(select.options, function (option) {
      return option.value === detected;
    });
    if (!existing) return;
    var group = document.createElement("optgroup");
    group.label = "Detected on this device";
    var option = document.createElement("option");
    option.value = detected;
    option.textContent = existing.textContent;
    group.appendChild(option);
    // Offered first, never chosen for the person: the clinic's zone stays selected
    // until they pick, so a device set to the wrong zone changes nothing by itself.
    select.insertBefore(group, select.firstChild);
  });
})();

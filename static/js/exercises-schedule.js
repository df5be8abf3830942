// Progressive enhancement for the assignment form: show only the schedule
// details that belong to the chosen kind. Without JavaScript every field shows,
// each with help text saying when it applies.
(function () {
  "use strict";
  var radios = document.querySelectorAll('input[name="schedule_kind"]');
  if (!radios.length) {
    return;
  }
  var details = {
    weekdays: document.getElementById("field-weekdays"),
    times_per_week: document.getElementById("field-times_per_week")
  };

  function chosenKind() {
    for (var i = 0; i < radios.length; i++) {
      if (radios[i].checked) {
        return radios[i].value;
      }
    }
    return "";
  }

  function update() {
    var kind = chosenKind();
    Object.keys(details).forEach(function (name) {
      var field = details[name];
      if (field) {
        // A field with an error stays visible so the message can be read.
        field.hidden = kind !== name && !field.classList.contains("field-invalid");
      }
    });
  }

  for (var i = 0; i < radios.length; i++) {
    radios[i].addEventListener("change", update);
  }
  update();
})();

/*
 * Questionnaire, progressively enhanced. Without this file every question is on the
 * page (on a phone each fills the screen, with "Next question" links). With it, on a
 * narrow screen: one question at a time with Back / Next buttons, "Question 3 of 12"
 * announced to screen readers, focus moved to the new question, and a way to show
 * all questions. Wide screens keep the whole list.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-measure]");
  if (!form || !window.matchMedia) {
    return;
  }
  var items = Array.prototype.slice.call(form.querySelectorAll("[data-measure-item]"));
  var submit = document.getElementById("measure-submit");
  var narrow = window.matchMedia("(max-width: 47.99rem)");
  if (items.length < 2 || !submit) {
    return;
  }

  var current = 0;
  var stepping = false;

  function button(label, className) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = className;
    element.textContent = label;
    return element;
  }

  var counter = document.createElement("p");
  counter.className = "step-counter";
  counter.setAttribute("aria-live", "polite");
  counter.setAttribute("aria-atomic", "true");
  var hint = document.createElement("p");
  hint.className = "errorlist";
  hint.setAttribute("role", "status");
  var controls = document.createElement("div");
  controls.className = "actions";
  var back = button("Back", "button-secondary");
  var next = button("Next question", "");
  var showAll = button("Show all questions", "link-button");
  controls.appendChild(back);
  controls.appendChild(next);
  controls.appendChild(showAll);

  function answered(item) {
    // An optional question (a difficulty question) may be passed by.
    return item.hasAttribute("data-optional") || item.querySelector("input[type=radio]:checked") !== null;
  }

  function show(index, moveFocus) {
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (item, position) {
      item.hidden = position !== current;
    });
    var last = current === items.length - 1;
    back.disabled = current === 0;
    next.hidden = last;
    submit.hidden = !last;
    hint.textContent = "";
    counter.textContent = "Question " + (current + 1) + " of " + items.length;
    if (moveFocus) {
      var fieldset = items[current].querySelector("fieldset");
      fieldset.setAttribute("tabindex", "-1");
      fieldset.focus();
    }
  }

  function start() {
    if (stepping) {
      return;
    }
    stepping = true;
    form.classList.add("measure-stepping");
    form.insertBefore(counter, form.querySelector(".measure-items"));
    form.insertBefore(hint, submit);
    form.insertBefore(controls, submit);
    // After a refused submit, open on the first question that needs an answer.
    var firstInvalid = items.findIndex(function (item) {
      return item.querySelector(".field-invalid") !== null;
    });
    show(firstInvalid >= 0 ? firstInvalid : 0, firstInvalid >= 0);
  }

  function stop() {
    if (!stepping) {
      return;
    }
    stepping = false;
    form.classList.remove("measure-stepping");
    items.forEach(function (item) {
      item.hidden = false;
    });
    submit.hidden = false;
    [counter, hint, controls].forEach(function (element) {
      if (element.parentNode) {
        element.parentNode.removeChild(element);
      }
    });
  }

  function goNext() {
    if (!answered(items[current])) {
      hint.textContent = "Choose an answer to go on.";
      return;
    }
    show(current + 1, true);
  }

  back.addEventListener("click", function () {
    show(current - 1, true);
  });
  next.addEventListener("click", goNext);
  showAll.addEventListener("click", function () {
    stop();
    items[current].querySelector("fieldset").focus();
  });
  // Enter on a radio would submit the whole form; while stepping it means "next".
  form.addEventListener("submit", function (event) {
    if (stepping && current < items.length - 1) {
      event.preventDefault();
      goNext();
    }
  });
  function follow() {
    if (narrow.matches) {
      start();
    } else {
      stop();
    }
  }
  if (narrow.addEventListener) {
    narrow.addEventListener("change", follow);
  }
  follow();
})();

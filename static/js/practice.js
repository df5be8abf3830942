/*
 * Guided practice, progressively enhanced. Without this file the page lists every
 * step and works as is. With it: one step at a time with Back / Next buttons, a step
 * counter announced to screen readers, a "show all steps" way back to the list, and
 * an optional timer whose minutes are carried to the log form (?minutes=N).
 */
(function () {
  "use strict";

  var section = document.querySelector("[data-practice]");
  if (!section) {
    return;
  }
  var list = section.querySelector("[data-steps]");
  var steps = Array.prototype.slice.call(section.querySelectorAll("[data-step]"));
  var logLinks = Array.prototype.slice.call(document.querySelectorAll("[data-log-link]"));

  function button(label, className) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = className === undefined ? "button-secondary" : className;
    element.textContent = label;
    return element;
  }

  // --- One step at a time ---
  if (steps.length > 1 && list) {
    var current = 0;
    var stepByStep = true;
    var counter = document.createElement("p");
    counter.className = "step-counter";
    counter.setAttribute("aria-live", "polite");
    counter.setAttribute("aria-atomic", "true");

    var controls = document.createElement("div");
    controls.className = "actions";
    var back = button("Back");
    var next = button("Next step", "");
    var toggle = button("Show all steps", "link-button");
    controls.appendChild(back);
    controls.appendChild(next);
    controls.appendChild(toggle);

    list.parentNode.insertBefore(counter, list);
    list.parentNode.insertBefore(controls, list.nextSibling);

    var render = function () {
      steps.forEach(function (step, index) {
        step.hidden = stepByStep && index !== current;
      });
      section.classList.toggle("practice-enhanced", stepByStep);
      back.hidden = !stepByStep;
      next.hidden = !stepByStep;
      back.disabled = current === 0;
      next.disabled = current === steps.length - 1;
      next.textContent = current === steps.length - 1 ? "Last step" : "Next step";
      counter.textContent = stepByStep
        ? "Step " + (current + 1) + " of " + steps.length
        : "All " + steps.length + " steps";
      toggle.textContent = stepByStep ? "Show all steps" : "One step at a time";
    };

    back.addEventListener("click", function () {
      if (current > 0) {
        current -= 1;
        render();
      }
    });
    next.addEventListener("click", function () {
      if (current < steps.length - 1) {
        current += 1;
        render();
      }
    });
    toggle.addEventListener("click", function () {
      stepByStep = !stepByStep;
      render();
    });
    render();
  }

  // --- Optional timer ---
  var timerBox = document.createElement("div");
  timerBox.className = "card";
  var timerHeading = document.createElement("h2");
  timerHeading.textContent = "Timer (optional)";
  var display = document.createElement("p");
  display.className = "timer-display";
  display.setAttribute("role", "timer");
  display.textContent = "0:00";
  var status = document.createElement("p");
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  var timerControls = document.createElement("div");
  timerControls.className = "actions";
  var startStop = button("Start timer");
  var reset = button("Reset", "link-button");
  timerControls.appendChild(startStop);
  timerControls.appendChild(reset);
  timerBox.appendChild(timerHeading);
  timerBox.appendChild(display);
  timerBox.appendChild(timerControls);
  timerBox.appendChild(status);
  section.appendChild(timerBox);

  var elapsedBefore = 0;
  var startedAt = null;
  var ticker = null;

  function elapsedMs() {
    return elapsedBefore + (startedAt === null ? 0 : Date.now() - startedAt);
  }

  function minutesPractised() {
    var ms = elapsedMs();
    return ms <= 0 ? 0 : Math.max(1, Math.round(ms / 60000));
  }

  function updateLogLinks() {
    var minutes = minutesPractised();
    logLinks.forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      if (minutes > 0) {
        url.searchParams.set("minutes", String(Math.min(minutes, 600)));
      } else {
        url.searchParams.delete("minutes");
      }
      link.href = url.pathname + url.search;
    });
  }

  function show() {
    var seconds = Math.floor(elapsedMs() / 1000);
    var rest = seconds % 60;
    display.textContent = Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
    updateLogLinks();
  }

  startStop.addEventListener("click", function () {
    if (startedAt === null) {
      startedAt = Date.now();
      ticker = window.setInterval(show, 1000);
      startStop.textContent = "Pause timer";
      status.textContent = "Timer started";
    } else {
      elapsedBefore = elapsedMs();
      startedAt = null;
      window.clearInterval(ticker);
      startStop.textContent = "Continue timer";
      status.textContent = "Timer paused at " + display.textContent;
    }
    show();
  });
  reset.addEventListener("click", function () {
    window.clearInterval(ticker);
    elapsedBefore = 0;
    startedAt = null;
    startStop.textContent = "Start timer";
    status.textContent = "Timer reset";
    show();
  });
})();

"""The accessibility audit every journey runs on every page it visits.

`Auditor(axe_source=...)(page)` checks the page as it is at that moment:

1. axe-core (the npm package, injected into the page): no violation of impact
   "serious" or "critical". Failures list each rule, its help text and the offending
   elements, so the message says what to fix.
2. Every form field has a label: a <label> tied to it, an aria-label, or aria-labelledby
   pointing at text. (Stricter than axe, which also accepts a title or placeholder.)
3. Every chart has a text alternative: each shown <svg> that is not aria-hidden is role="img"
   with a non-empty name, and every chart figure carries a caption and its numbers as a
   table (inside the figure or right after it).
4. Focus is visible: pressing Tab moves focus to elements that draw an outline at least
   2 px wide, the browser's own focus ring (outline-style auto), or a box-shadow ring, in
   their computed style while focused.
5. The browser reported no script error and no Content Security Policy violation since
   the last audit (the contexts from conftest.py pass them to `Auditor.browser_error`).
6. Reflow: no horizontal scrolling on a 390 px wide phone, nor at 200% zoom. Zooming a
   1280 px wide window to 200% lays the page out in 640 CSS px, so that is the width
   checked; the viewport is put back afterwards.

axe-core is injected with page.evaluate, which runs through the DevTools protocol and
is not subject to the page's Content Security Policy, so the journeys can run under the
app's real CSP (a script the policy blocks would break them, as it would for people).
"""

from dataclasses import dataclass, field

BLOCKING_IMPACTS = ("serious", "critical")
REFLOW_WIDTHS = {"a 390 px wide phone": 390, "200% zoom of a 1280 px window": 640}
TAB_STOPS_CHECKED = 12

_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
  }));
}"""

_UNLABELLED_FIELDS = """() => {
  const fields = document.querySelectorAll(
    "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset])" +
    ":not([type=image]), select, textarea"
  );
  const named = (ids) => (ids || "").split(/\\s+/).filter(Boolean)
    .map(id => document.getElementById(id)).filter(Boolean)
    .map(el => el.textContent.trim()).join(" ");
  const missing = [];
  for (const el of fields) {
    const fromLabels = Array.from(el.labels || []).map(l => l.textContent.trim()).join(" ");
    const ariaLabel = (el.getAttribute("aria-label") || "").trim();
    if (!fromLabels && !ariaLabel && !named(el.getAttribute("aria-labelledby"))) {
      missing.push(el.outerHTML.slice(0, 160));
    }
  }
  return missing;
}"""

_CHARTS_WITHOUT_TEXT = """() => {
  const problems = [];
  const named = (ids) => (ids || "").split(/\\s+/).filter(Boolean)
    .map(id => document.getElementById(id)).filter(Boolean)
    .map(el => el.textContent.trim()).join(" ");
  for (const svg of document.querySelectorAll("svg")) {
    // Icon sprites and hidden drawings are not shown to anyone; nested svgs belong to their parent.
    const box = svg.getBoundingClientRect();
    if (svg.closest("[aria-hidden=true]") || !box.width || !box.height) continue;
    if (svg.parentElement.closest("svg")) continue;
    const name = svg.getAttribute("aria-label") || named(svg.getAttribute("aria-labelledby"));
    if (svg.getAttribute("role") !== "img" || !name.trim()) {
      problems.push("svg without role=img and a name: " + svg.outerHTML.slice(0, 120));
    }
  }
  for (const figure of document.querySelectorAll("figure.chart")) {
    const caption = figure.querySelector("figcaption");
    if (!caption || !caption.textContent.trim()) {
      problems.push("chart without a caption: #" + figure.id);
    }
    const after = figure.nextElementSibling;
    const table = figure.querySelector("table th") || (after && after.querySelector("table th"));
    if (!table) {
      problems.push("chart without a table of its numbers: #" + figure.id);
    }
  }
  return problems;
}"""

_FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  // Chromium's own parts of a field (a time field's picker button) take focus without the
  // field matching :focus; their ring is the browser's to draw and cannot be read here.
  if (!el.matches(":focus")) return null;
  const style = getComputedStyle(el);
  // "auto" is the browser's own focus ring, drawn whatever the width says.
  const outline = style.outlineStyle === "auto" ||
    (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2);
  const ring = style.boxShadow && style.boxShadow !== "none";
  return {
    visible: outline || ring,
    element: el.outerHTML.slice(0, 120),
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
  };
}"""

_OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const limit = root.clientWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    // A table that scrolls inside its own box is fine, unless the element escapes the box.
    const escapes = ["absolute", "fixed"].includes(getComputedStyle(el).position);
    if (box.right > limit + 1 && (escapes || !el.closest(".table-scroll"))) {
      const classes = typeof el.className === "string" && el.className.trim()
        ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes;
      wide.push(`${name} (right edge ${Math.round(box.right)} px)`);
    }
    if (wide.length >= 8) break;
  }
  return {scrollWidth: root.scrollWidth, clientWidth: limit, widest: wide};
}"""


class AccessibilityProblem(AssertionError):
    pass


@dataclass
class Auditor:
    axe_source: str
    audited: list[str] = field(default_factory=list)
    browser_errors: list[str] = field(default_factory=list)

    def browser_error(self, where: str, text: str) -> None:
        self.browser_errors.append(f"browser error on {where}: {text}")

    def console_message(self, message) -> None:
        # A failed request (a 404 favicon, a refused page) is the journey's to judge.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.browser_error(message.page.url if message.page else "?", message.text)

    def __call__(self, page, *, reflow: bool = True, focus: bool = True) -> None:
        where = page.url
        problems = [
            *self.axe_violations(page),
            *[f"form field without a label: {html}" for html in page.evaluate(_UNLABELLED_FIELDS)],
            *page.evaluate(_CHARTS_WITHOUT_TEXT),
        ]
        problems += self.browser_errors
        self.browser_errors.clear()
        if focus:
            problems += self.invisible_focus(page)
        if reflow:
            problems += self.horizontal_scrolling(page)
        self.audited.append(where)
        if problems:
            raise AccessibilityProblem(
                f"Accessibility problems on {where}:\n" + "\n".join(f"- {p}" for p in problems)
            )

    def axe_violations(self, page) -> list[str]:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe_source)
        lines = []
        for violation in page.evaluate(_AXE_RUN):
            if violation["impact"] not in BLOCKING_IMPACTS:
                continue
            lines.append(
                f"axe {violation['impact']} [{violation['id']}] {violation['help']} "
                f"({violation['helpUrl']})"
            )
            for node in violation["nodes"][:5]:
                summary = " ".join(node["summary"].split())
                lines.append(f"    at {node['target']}: {summary}")
        return lines

    def invisible_focus(self, page) -> list[str]:
        """Tab through the first stops, then put focus back where the journey had it."""
        before = page.evaluate_handle("() => document.activeElement")
        try:
            return self._tab_stops_without_focus_ring(page)
        finally:
            before.evaluate(
                """el => {
                  if (el && el !== document.body) { el.focus(); return; }
                  if (document.activeElement) document.activeElement.blur();
                }"""
            )
            before.dispose()

    def _tab_stops_without_focus_ring(self, page) -> list[str]:
        problems = []
        focused = 0
        for _ in range(TAB_STOPS_CHECKED):
            page.keyboard.press("Tab")
            state = page.evaluate(_FOCUS_RING)
            if state is None:
                continue
            focused += 1
            if not state["visible"]:
                problems.append(
                    f"focus not visible on {state['element']} (outline: {state['outline']})"
                )
        if focused == 0:
            problems.append("pressing Tab never focused anything")
        return problems

    def horizontal_scrolling(self, page) -> list[str]:
        original = page.viewport_size
        problems = []
        try:
            for name, width in REFLOW_WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 800})
                overflow = page.evaluate(_OVERFLOW)
                if overflow:
                    problems.append(
                        f"scrolls sideways on {name}: page is {overflow['scrollWidth']} px wide "
                        f"in a {overflow['clientWidth']} px window; widest: "
                        + ", ".join(overflow["widest"])
                    )
        finally:
            page.set_viewport_size(original)
        return problems

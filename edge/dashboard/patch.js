// @ts-check
// The first part of the dashboard's script: how a redraw patches the view in
// place. tools/dashboard.ts serves it and app.js, in that order, as one
// classic script, /dashboard/app.js; this one name is all it adds to the
// page's global scope, and app.js calls it. Patching rather than replacing
// keeps scroll, focus, an open <details> and a form being filled in.
// biome-ignore lint/suspicious/noRedundantUseStrict: the page loads the script as a classic one, not a module
"use strict";
// biome-ignore lint/correctness/noUnusedVariables: app.js, which follows this part in the served script, calls it
const patchChildren = (() => {
  /**
   * Makes the children of into look like those of from, touching only what changed.
   * @param {Node} into
   * @param {Node} from
   */
  function patchChildren(into, from) {
    const before = Array.from(into.childNodes);
    const after = Array.from(from.childNodes);
    after.forEach((node, i) => {
      const old = before[i];
      if (!old) into.appendChild(node);
      else if (same(old, node)) patch(old, node);
      else into.replaceChild(node, old);
    });
    for (const extra of before.slice(after.length)) extra.remove();
  }

  /**
   * An element, HTML or SVG (the charts): both have the id, dataset and attributes used here.
   * @param {Node} node
   * @returns {node is HTMLElement}
   */
  const isElement = (node) => node.nodeType === 1;

  /**
   * @param {Node} node
   * @returns {node is HTMLInputElement}
   */
  const isInput = (node) => node.nodeName === "INPUT";

  /**
   * @param {Node} a
   * @param {Node} b
   */
  function same(a, b) {
    if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
    return !isElement(a) || !isElement(b) || (a.id === b.id && a.dataset.key === b.dataset.key);
  }

  /**
   * Makes old look like node, which same() matched with it.
   * @param {Node} old
   * @param {Node} node
   */
  function patch(old, node) {
    if (!isElement(old) || !isElement(node)) {
      if (old.nodeValue !== node.nodeValue) old.nodeValue = node.nodeValue;
      return;
    }
    // a chart left out of this refresh, or a form someone is filling in
    if (node.hasAttribute("data-keep") || old.dataset.dirty) return;
    for (const attribute of Array.from(old.attributes)) {
      // an open <details> stays open
      if (!node.hasAttribute(attribute.name) && attribute.name !== "open") old.removeAttribute(attribute.name);
    }
    for (const attribute of Array.from(node.attributes)) {
      if (old.getAttribute(attribute.name) !== attribute.value) old.setAttribute(attribute.name, attribute.value);
    }
    // once typed in, a field shows its value property, not its attribute: a setting changed elsewhere shows too
    if (isInput(old) && isInput(node) && old.value !== node.value) old.value = node.value;
    patchChildren(old, node);
  }

  return patchChildren;
})();

// @ts-check
// Modal dialogs on the native <dialog> element: showModal() makes the rest of the page inert;
// Tab and Shift+Tab also wrap inside the dialog here, Escape cancels, and focus goes back to
// the control that opened it (or a fallback, when that control is gone meanwhile).

import { el } from "../shared/dom.js";

let counter = 0;

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

function visibleFocusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((node) => node.getClientRects().length > 0);
}

/**
 * Show a modal form.
 *   title: the dialog's heading; description: optional text under it;
 *   fields: nodes of the form; submitLabel: the main button;
 *   onSubmit(form) -> Promise<string|null>: an error message to show (the dialog stays), or null;
 *   opener: the element focus returns to; fallback(): the element to focus when it is gone.
 * Resolves true when submitted successfully, false when cancelled.
 * @param {{title: string, description?: string, fields: Node[], submitLabel: string,
 *   onSubmit: (form: HTMLFormElement) => Promise<string | null>, opener?: HTMLElement | null,
 *   fallback?: () => HTMLElement | null | undefined, danger?: boolean}} options
 * @returns {Promise<boolean>}
 */
export function formDialog({ title, description, fields, submitLabel, onSubmit, opener, fallback, danger = false }) {
  const id = `dlg-${++counter}`;
  const error = el("p", { class: "error", id: `${id}-error`, hidden: true, "aria-live": "polite" });
  const submit = el("button", { type: "submit", class: danger ? "danger" : null }, submitLabel);
  const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
  const form = el(
    "form",
    { novalidate: true },
    ...fields,
    error,
    el("div", { class: "dialog-actions" }, submit, cancel),
  );
  const dialog = el(
    "dialog",
    { class: "dialog", "aria-labelledby": `${id}-title`, "aria-describedby": description ? `${id}-desc` : null },
    el("h2", { id: `${id}-title`, text: title }),
    description ? el("p", { id: `${id}-desc`, class: "dialog-description", text: description }) : null,
    form,
  );
  const returnTo = /** @type {HTMLElement | null} */ (opener || document.activeElement);

  return new Promise((resolve) => {
    let submitted = false;
    let busy = false;
    const finish = () => {
      dialog.remove();
      const target = returnTo && returnTo.isConnected && !returnTo.closest("[hidden]") ? returnTo : fallback?.();
      if (target) target.focus();
      resolve(submitted);
    };
    dialog.addEventListener("close", finish, { once: true });
    dialog.addEventListener("cancel", (event) => {
      if (busy) event.preventDefault();
    });
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const nodes = visibleFocusables(dialog);
      if (!nodes.length) return;
      const first = nodes[0];
      const last = nodes[nodes.length - 1];
      if (event.shiftKey && document.activeElement === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      submit.disabled = true;
      error.hidden = true;
      error.textContent = "";
      let message;
      try {
        message = await onSubmit(form);
      } finally {
        busy = false;
        submit.disabled = false;
      }
      if (message) {
        error.textContent = message;
        error.hidden = false;
        const invalid = form.querySelector('[aria-invalid="true"]');
        (invalid || submit).focus();
        return;
      }
      submitted = true;
      dialog.close();
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = visibleFocusables(form)[0];
    if (first) first.focus();
  });
}

/** A labelled field: {label, control, hint}; gives the control an id and its description. */
export function field(label, control, hint) {
  const id = control.id || `fld-${++counter}`;
  control.id = id;
  const parts = [el("label", { for: id, text: label })];
  if (hint) {
    const hintId = `${id}-hint`;
    parts.push(el("p", { class: "hint", id: hintId, text: hint }));
    control.setAttribute("aria-describedby", hintId);
  }
  parts.push(control);
  return el("div", { class: "field" }, ...parts);
}

/** Mark a control invalid with a message read with it; return the message. */
export function invalid(control, message) {
  control.setAttribute("aria-invalid", "true");
  control.addEventListener("input", () => control.removeAttribute("aria-invalid"), { once: true });
  return message;
}

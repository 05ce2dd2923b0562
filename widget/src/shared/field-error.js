// @ts-check
// A refused form, in the widget and the pane alike: the server names the field to blame in
// `error.field` (docs/protocol/README.md); the form shows the message under that field.

/**
 * The field of `fields` an ack error is about, and the sentence to show under it; null when
 * the error names none of them (show it for the whole form then).
 * @param {{message: string, field?: string}} error
 * @param {readonly string[]} fields
 * @returns {{field: string, message: string} | null}
 */
export function fieldErrorOf(error, fields) {
  const field = error.field;
  if (typeof field !== "string" || !fields.includes(field)) return null;
  // A payload check's message starts with the field's name ("name: must not be empty"): the
  // field is already there to see, so it goes, and the rest reads as a sentence.
  let text = String(error.message || "").trim();
  if (text.toLowerCase().startsWith(`${field.toLowerCase()}:`)) text = text.slice(field.length + 1).trim();
  return { field, message: text.charAt(0).toUpperCase() + text.slice(1) };
}

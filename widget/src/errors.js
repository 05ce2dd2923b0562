// @ts-check
// A refusal as the resident reads it. The service writes its error messages in English; for the
// codes a resident can meet, the widget has its own sentence in the catalogue, used whenever the
// resident reads another language than English (in English the service's own, often more
// precise, message stands). An unknown code, or a code with no sentence here, shows the
// service's message as it came.

import { language, t } from "./shared/i18n.js";

/** @type {Record<string, () => string>} */
const BY_CODE = {
  disconnected: () => t("Cannot reach the chat service. Check your connection and try again."),
  timeout: () => t("The chat service did not answer. Please try again."),
  unavailable: () => t("Chat is unavailable right now. Please try again later."),
  internal_error: () => t("Something went wrong on our side. Please try again."),
  conversation_ended: () => t("This chat has ended. Start a new chat to keep talking with us."),
  not_in_conversation: () => t("Start a chat first."),
  invalid_token: () => t("This chat is no longer available. Start a new chat."),
  token_expired: () => t("This chat is no longer available. Start a new chat."),
  invalid_photo: () => t("Please choose a JPEG, PNG or WebP photo."),
  photo_too_large: () => t("That photo is too large: up to 10 MB, please."),
  too_many_photos: () => t("No more photos can be added to this chat."),
  photo_not_expected: () => t("No photo is needed right now."),
  rate_limited: () => t("You're doing that quickly. Please try again in a moment."),
  invalid_payload: () => t("Please check what you entered and try again."),
};

/**
 * The sentence for a refusal, in the resident's language.
 * @param {{code?: string, message?: string} | null | undefined} error
 * @returns {string}
 */
export function errorText(error) {
  const message = typeof error?.message === "string" ? error.message : "";
  const own = error && typeof error.code === "string" && Object.hasOwn(BY_CODE, error.code) ? BY_CODE[error.code] : null;
  if (own && (language() !== "en" || !message)) return own();
  return message || t("Something went wrong on our side. Please try again.");
}

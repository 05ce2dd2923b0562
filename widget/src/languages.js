// @ts-check
// The languages the widget offers, in the order its language control lists them. English is
// the language of the code (each text's msgid); every other one is a translators' catalogue,
// chatsvc/locale/<code>/LC_MESSAGES/widget.po, bundled by scripts/catalogs.js. A new language
// is its .po file and one line here (the server's payload model lists the codes it accepts).

/** @type {{code: string, name: string}[]} `name`: as its speakers write it */
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
];

// @ts-check
// The widget's texts in the resident's language (src/shared/i18n.js), read from the translators'
// catalogues (chatsvc/locale/<code>/LC_MESSAGES/widget.po) by the build step (scripts/catalogs.js).
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";

import { catalogPath, pluralRule, readCatalog, textsOf } from "../scripts/catalogs.js";
import { LANGUAGES } from "../src/languages.js";
import { installCatalogs, pickLanguage, setLanguage, t, tn } from "../src/shared/i18n.js";
import { clockWords, dateTimeLabel, formatTime } from "../src/shared/time.js";
import { endOfWait, waitWords } from "../src/limit.js";
import { validateStart } from "../src/validation.js";

/** A catalogue as the bundle has it, from the .po file itself. */
function bundled(code) {
  const { expression, messages } = readCatalog(readFileSync(catalogPath(code)));
  return { plural: /** @type {(n: number) => number} */ (new Function("n", `return Number(${expression});`)), messages };
}

afterEach(() => {
  installCatalogs({});
  setLanguage("en");
});

test("the Spanish catalogue is read from its .po file, and English is the msgid", () => {
  installCatalogs({ es: bundled("es") });
  assert.equal(t("Start chat"), "Start chat");
  setLanguage("es");
  assert.equal(t("Start chat"), "Iniciar chat");
  assert.equal(t("Thank you, {name}. We received your message.", { name: "Ana" }), "Gracias, Ana. Recibimos su mensaje.");
  assert.deepEqual(validateStart({ name: "", email: "x", question: "" }), {
    name: "Escriba su nombre.",
    email: "Escriba un correo electrónico como nombre@ejemplo.com.",
    question: "Escriba su pregunta.",
  });
});

test("plural forms follow the catalogue's Plural-Forms rule", () => {
  installCatalogs({ es: bundled("es") });
  setLanguage("es");
  assert.equal(tn("1 new message", "{count} new messages", 1), "1 mensaje nuevo");
  assert.equal(tn("1 new message", "{count} new messages", 3), "3 mensajes nuevos");
  assert.equal(tn("1 new message", "{count} new messages", 0), "0 mensajes nuevos");
  setLanguage("en");
  assert.equal(tn("1 new message", "{count} new messages", 1), "1 new message");
  assert.equal(tn("1 new message", "{count} new messages", 2), "2 new messages");
  // A third language's rule (Polish, three forms) compiles as well; anything else is refused.
  const polish = new Function("n", `return Number(${pluralRule("nplurals=3; plural=(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);").expression});`);
  assert.deepEqual([1, 3, 5, 22, 12].map((n) => polish(n)), [0, 1, 2, 1, 2]);
  assert.throws(() => pluralRule("nplurals=2; plural=alert(1);"), /only|more than/);
  assert.throws(() => pluralRule("plural=n;"), /Plural-Forms/);
});

test("a text with no translation, an empty or fuzzy one, or an unknown language shows English", () => {
  const po = [
    'msgid ""',
    'msgstr ""',
    '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"',
    "",
    'msgid "Send"',
    'msgstr "Enviar"',
    "",
    'msgid "Skip"',
    'msgstr ""',
    "",
    "#, fuzzy",
    'msgid "Close"',
    'msgstr "Cerrar"',
    "",
    'msgid "1 minute"',
    'msgid_plural "{count} minutes"',
    'msgstr[0] "{count} minuto"',
    'msgstr[1] ""',
  ].join("\n");
  const catalog = readCatalog(po);
  assert.deepEqual(Object.keys(catalog.messages), ["Send"]);
  installCatalogs({ es: { plural: (n) => Number(n != 1), messages: catalog.messages } });
  setLanguage("es");
  assert.equal(t("Send"), "Enviar");
  assert.equal(t("Skip"), "Skip");
  assert.equal(t("Close"), "Close");
  assert.equal(tn("1 minute", "{count} minutes", 4), "4 minutes");
  assert.equal(t("Not in any catalogue {x}", { x: 1 }), "Not in any catalogue 1");
  setLanguage("fr");
  assert.equal(t("Send"), "Send");
});

test("every text the widget gives t() or tn() has its translation in each language's catalogue", () => {
  const dirs = ["src", "src/shared"];
  const texts = dirs.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".js") && f !== "catalogs.generated.js" && f !== "i18n.js")
      .flatMap((f) => textsOf(readFileSync(join(dir, f), "utf8"))),
  );
  assert.ok(texts.length > 150, `found ${texts.length} texts`);
  for (const { code } of LANGUAGES.filter((l) => l.code !== "en")) {
    const { messages } = readCatalog(readFileSync(catalogPath(code)));
    const missing = texts.filter(([msgid]) => !messages[msgid]).map(([msgid]) => msgid);
    assert.deepEqual([...new Set(missing)], [], `${code}: texts with no translation`);
    for (const [msgid, forms] of Object.entries(messages)) {
      const wanted = [...msgid.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((p) => p !== "count").sort();
      for (const form of forms) {
        const have = [...form.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).filter((p) => p !== "count").sort();
        assert.deepEqual(have, wanted, `${code}: placeholders of ${JSON.stringify(msgid)}`);
      }
    }
  }
});

test("dates and times are written the Spanish way", () => {
  installCatalogs({ es: bundled("es") });
  setLanguage("es");
  const dec7 = (h, m) => new Date(2026, 11, 7, h, m).getTime();
  const now = new Date(2026, 11, 6, 9, 0).getTime();
  assert.equal(dateTimeLabel(dec7(17, 0), now), "lunes 7 de diciembre a las 5 p. m.");
  assert.equal(dateTimeLabel(dec7(13, 5), now), "lunes 7 de diciembre a la 1:05 p. m.");
  assert.equal(dateTimeLabel(dec7(0, 0), now), "lunes 7 de diciembre a medianoche");
  assert.equal(dateTimeLabel(dec7(12, 0), now), "lunes 7 de diciembre a mediodía");
  assert.equal(dateTimeLabel(new Date(2025, 11, 29, 8, 0).getTime(), now), "lunes 29 de diciembre de 2025 a las 8 a. m.");
  assert.equal(clockWords(16, 24), "4:24 p. m.");
  assert.equal(formatTime(new Date(dec7(16, 24)).toISOString(), new Date(dec7(18, 0)))?.label, "4:24 p. m.");
  const noon = new Date(2026, 10, 23, 12, 0).getTime();
  assert.equal(endOfWait(noon + 3 * 3_600_000 + 15 * 60_000, noon), "después de las 3:15 p. m.");
  assert.equal(endOfWait(noon + 13 * 3_600_000, noon), "mañana después de la 1 a. m.");
  assert.equal(
    waitWords("message", 12, noon + 12_000, noon).spoken,
    "Está enviando mensajes muy rápido. Podrá enviar de nuevo en 12 segundos.",
  );
  setLanguage("en");
  assert.equal(dateTimeLabel(dec7(17, 0), now), "Monday, December 7 at 5 p.m.");
  assert.equal(dateTimeLabel(new Date(2025, 11, 29, 8, 0).getTime(), now), "Monday, December 29, 2025 at 8 a.m.");
});

test("the language: the resident's choice, a Spanish page, the browser's languages, English", () => {
  const offered = ["en", "es"];
  assert.equal(pickLanguage({ chosen: "en", page: "es", browser: ["es-MX"] }, offered), "en");
  assert.equal(pickLanguage({ chosen: null, page: "es-US", browser: ["en-US"] }, offered), "es");
  assert.equal(pickLanguage({ page: "en", browser: ["fr-FR", "es-419", "en"] }, offered), "es");
  assert.equal(pickLanguage({ page: "en-US", browser: ["fr-FR"] }, offered), "en");
  assert.equal(pickLanguage({ chosen: "de", page: "", browser: [] }, offered), "en");
  assert.equal(pickLanguage({ chosen: 12, page: undefined, browser: [null] }, offered), "en");
});

import unhomoglyph from 'unhomoglyph';

/**
 * Text normalisation that undoes the cheap evasions people use to slip abuse past a filter:
 * homoglyphs ("ѕhіt" with Cyrillic letters), accents, leetspeak ("sh1t", "@ss"), stretched letters
 * ("shiiiit"), and spelled-out words ("f u c k", "f.u.c.k"). The classifiers see both the plain
 * lowercased text and this normalised form, so the evasion and the ordinary spelling land on the
 * same features.
 */

const LEET: Record<string, string> = {
  '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
  '@': 'a', '$': 's', '!': 'i', '|': 'i', '€': 'e', '£': 'l', '+': 't',
};

const URL_RE = /\b(?:https?:\/\/|www\.)\S+|\b[a-z0-9-]+\.(?:com|net|org|ly|io|co|me|info|tv|ru|de|uk)(?:\/\S*)?\b/gi;
const MENTION_RE = /@\w+/g;

/** Lowercase, fold homoglyphs and accents, keep URLs and mentions as placeholder tokens. */
export function foldText(text: string): string {
  let s = text.replace(URL_RE, ' xxurl ').replace(MENTION_RE, ' xxuser ');
  // unhomoglyph maps confusables onto their Latin look-alike; only non-ASCII characters go through
  // it, since it also folds plain ASCII ("m" -> "rn", "1" -> "l") which would wreck ordinary text.
  s = s.normalize('NFKC').replace(/[^\u0020-\u007e\s]/g, (ch) => unhomoglyph(ch)).toLowerCase();
  s = s.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return s;
}

/** Leetspeak inside a word only: "sh1t" -> "shit", while "10 cats" stays a number. */
function unleetWord(word: string): string {
  if (!/[a-z]/.test(word)) return word;
  let out = '';
  for (const ch of word) out += LEET[ch] ?? ch;
  return out;
}

/** Runs of three or more of the same letter become one ("shiiiit" -> "shit", "cooool" -> "col"). */
function squeeze(word: string): string {
  return word.replace(/([a-z])\1{2,}/g, '$1');
}

/**
 * Join runs of single letters separated by spaces or punctuation: "f u c k" / "f.u.c.k" / "f-u-c-k"
 * -> "fuck". Needs three or more letters so "a b" or "I a" stays as written.
 */
function joinSpelledOut(s: string): string {
  return s.replace(/(?:^|(?<=\s))([a-z0-9@$!*](?:[\s.\-_*]{1,2}[a-z0-9@$!*]){2,})(?=\s|$)/g, (run) => run.replace(/[\s.\-_]+/g, ''));
}

/** The normalised form: folded, spelled-out runs joined, leetspeak decoded, stretched letters squeezed. */
export function normalise(text: string): string {
  const folded = joinSpelledOut(foldText(text));
  const words = folded.split(/\s+/).filter(Boolean);
  return words
    .map((w) => squeeze(unleetWord(w)))
    .join(' ');
}

/** Word tokens of a normalised string: letters, digits and apostrophes; emoji kept as tokens. */
export function tokenize(normalised: string): string[] {
  return normalised.match(/[a-z0-9']+|\p{Extended_Pictographic}/gu) ?? [];
}

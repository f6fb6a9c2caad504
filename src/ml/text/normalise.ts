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

const LEET_CHAR = /[01345789@$!|€£+]/;
const LEET_ALL = /[01345789@$!|€£+]/g;

/** Leetspeak inside a word only: "sh1t" -> "shit", while "10 cats" stays a number. */
function unleetWord(word: string): string {
  // Most words have nothing to decode: no new string for them.
  if (!LEET_CHAR.test(word) || !/[a-z]/.test(word)) return word;
  return word.replace(LEET_ALL, (ch) => LEET[ch] ?? ch);
}

/** Runs of three or more of the same letter become one ("shiiiit" -> "shit", "cooool" -> "col"). */
const STRETCHED = /([a-z])\1{2,}/g;

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
  for (let i = 0; i < words.length; i++) words[i] = unleetWord(words[i] as string);
  // Squeezed once over the joined words: a run of letters never crosses the spaces between them.
  return words.join(' ').replace(STRETCHED, '$1');
}

/** Word tokens of a normalised string: letters, digits and apostrophes; emoji kept as tokens. */
export function tokenize(normalised: string): string[] {
  return normalised.match(/[a-z0-9']+|\p{Extended_Pictographic}/gu) ?? [];
}
